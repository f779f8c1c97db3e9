"""第 11 章 学習ループとモデルの保存

第 10 章の学習ステップを DataLoader の全バッチ・何エポックにもわたってくり返す学習ループを書き、
学習したパラメータ (state_dict) をファイルに保存・読み込みし、勾配を記録せずに損失を評価します。
モデルは入力 [B, 2] からロジット [B, 1] を出す分類器、データは XOR の DataLoader (ラベルは int64) です。
各関数の本体 (いまは「未実装」のエラーを送出する raise 文) を書き換えて、`pytest exercises/11` で確かめましょう。
"""
import os

import torch
from torch import nn
from torch.utils import data


def train_model(model: nn.Module, optimizer: torch.optim.Optimizer, loader: data.DataLoader, loss_fn: nn.Module,
                num_epochs: int) -> list[float]:
    """model を loader のデータで num_epochs エポック学習し、エポックごとの平均損失のリストを返してください。

    入力: model (入力 [B, 2] からロジット [B, 1] を出す nn.Module)、optimizer (model のパラメータを更新する)、
          loader (入力 float32 [B, 2] とラベル int64 [B] のミニバッチを出す DataLoader)、
          loss_fn (nn.BCEWithLogitsLoss() など、バッチ内の平均を返す損失)、num_epochs (int)
    手順: 最初にモデルを学習モードにする。各エポックで loader の全バッチについて、第 10 章の学習ステップを行う。
          バッチは、モデルのパラメータと同じデバイスに移してから使います (デバイスはモデルから読みます。
          例: next(model.parameters()).device)。
    出力: 長さ num_epochs の float のリスト。リストの i 番目 (0 から数えます) は、i + 1 回目のエポックの損失の
          「データ 1 件あたりの平均」: 各バッチの損失 (の値) とそのバッチの件数の積を足し合わせ、そのエポックで loader が
          出したデータの件数 (各バッチの件数の合計。drop_last=True のローダーでは len(dataset) より少なくなります)
          で割ったもの (最後のバッチが小さくても、各データを同じ重みで平均します)。
    """
    raise NotImplementedError


def save_state(model: nn.Module, path: str | os.PathLike) -> None:
    """model のパラメータとバッファ (state_dict) を、ファイル path に保存してください。

    入力: model (nn.Module)、path (保存先のファイルのパス。str または pathlib.Path)
    出力: なし (None)。保存したファイルは torch.load(path, weights_only=True) で読めて、
          model.state_dict() と同じキーと値の辞書になること。
    注意: モデルのオブジェクトそのものではなく、state_dict を保存します。
    """
    raise NotImplementedError


def load_state(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """save_state で保存したファイル path を読み込み、その値を model に入れて、model を返してください。

    入力: model (保存したときと同じ構造の、CPU 上の nn.Module)、path (str または pathlib.Path)
    出力: 値を読み込んだ model そのもの (新しいモデルではなく、渡された model を返します)。
    条件: GPU の上で保存されたファイルでも、GPU のないマシンで読めること (テンソルを CPU に読み込む)。
    """
    raise NotImplementedError


def evaluate_loss(model: nn.Module, loader: data.DataLoader, loss_fn: nn.Module) -> float:
    """loader の全データに対する model の平均損失を、計算グラフを作らずに計算して float で返してください。

    入力: model、loader、loss_fn (train_model と同じもの)
    手順: モデルを評価モード (model.eval()) にし、勾配の記録を止めた状態で、全バッチの損失を計算する
          (バッチはモデルのデバイスに移し、出力を [B] に、ラベルを float に。パラメータは更新しない)。
          Dropout や BatchNorm のような層は学習モードと評価モードで計算が変わるので、評価モードで測ります。
          呼び出しのあとも評価モードのままにします。
    出力: データ 1 件あたりの平均損失 (float)。train_model と同じく、各バッチの損失と件数の積の合計を
          loader が出したデータの件数で割ります。全データを 1 つのバッチにして計算した損失と同じ値になります。
    """
    raise NotImplementedError


def train_keep_best(model: nn.Module, optimizer: torch.optim.Optimizer, train_loader: data.DataLoader,
                    val_loader: data.DataLoader, loss_fn: nn.Module, num_epochs: int) -> float:
    """【発展課題】学習しながらエポックごとに検証データで損失を測り、検証の損失がいちばん小さかったエポックのあとの
    状態 (パラメータとバッファ) を model に戻して、その損失を返してください (学習しすぎる前の重みを取っておく工夫です)。

    入力: model、optimizer、loss_fn (train_model と同じもの)、train_loader (学習用の DataLoader)、
          val_loader (検証用の DataLoader)、num_epochs (int、1 以上)
    手順: エポックごとに、まず train_loader の全バッチで 1 エポック学習し (train_model と同じ学習ステップ。学習モード)、
          次に val_loader の損失を evaluate_loss と同じように測ります (評価モード、勾配を記録しない、データ 1 件あたりの
          平均)。検証の損失がそれまでの最小より小さくなったら、そのときの model.state_dict() の写しを取っておきます。
          全エポックが終わったら、取っておいた状態を model に読み込みます。候補は各エポックのあとの状態だけです
          (学習の前の状態は測らず、候補にもしません)。
    出力: 検証の損失の最小値 (float)。戻るとき、model はそのエポックのあとのパラメータとバッファを持ち、評価モードです。
    条件: - 取っておく状態は、そのあとの学習で変わらないこと (model.state_dict() の値はモデルとメモリを共有しています)。
          - ファイルは使わないこと (torch.save / torch.load は使えません。状態はメモリの上に取っておきます)。
          - 同じファイルの train_model と evaluate_loss を呼んでかまいません。
    """
    raise NotImplementedError
