"""第 12 章 評価と決定境界

学習した XOR 分類器を評価します。モデルの出力 (ロジット) を確率と 0 / 1 のラベルに変換し、データ全体での
正解率 (accuracy) を求め、入力平面を格子状に区切って決定境界を描くための予測を作ります。
評価では勾配は要りません。計算グラフを作らないこと、モデルを評価モードにすることを意識しましょう。
各関数の本体 (いまは「未実装」のエラーを送出する raise 文) を書き換えて、`pytest exercises/12` で確かめましょう。
"""
import torch
from torch import nn
from torch.utils import data


def predict_labels(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """2 値分類モデルの出力 (ロジット) から、予測ラベル 0 / 1 を作って返してください。

    入力: model (nn.Module。形状 [B, 2] の入力に対して、形状 [B, 1] のロジットを返す)、
          x (形状 [B, 2]、float32)
    出力: 形状 [B]、dtype int64 のテンソル (モデルと同じデバイスの上)。クラス 1 の確率 (ロジットに sigmoid を
          かけた値) が 0.5 以上なら 1、そうでなければ 0。B = 1 のときも形状は [1] です。
    条件: 計算グラフを作らないこと (モデルを呼ぶ間、勾配を記録しない)。
          モデルを評価モード (model.eval()) にしてから呼び、呼び出しのあとも評価モードのままにすること
          (Dropout や BatchNorm のような層は、学習モードのままだと予測が変わってしまいます)。
          x はモデルのパラメータと同じデバイスに移してから渡すこと (デバイスはモデルから読みます)。
    """
    raise NotImplementedError


def accuracy(model: nn.Module, loader: data.DataLoader) -> float:
    """DataLoader が返す全データに対する、モデルの正解率 (正しく分類できた割合) を返してください。

    入力: model (predict_labels と同じ 2 値分類モデル)、
          loader (バッチ (inputs: 形状 [B, 2] float32, labels: 形状 [B] int64) を返す DataLoader)
    出力: Python の float (0.0 以上 1.0 以下)。テンソルではなく数値を返します。
          正解率 = 正解したデータ数の合計 / loader が出したデータの総数 (最後のバッチが小さくても正しく数えること)。
    条件: model を評価モードにしてから計算し、呼び出し後も評価モードのままにすること。
          計算グラフを作らないこと。予測ラベルの決め方は predict_labels と同じです。
          バッチはモデルのパラメータと同じデバイスに移してから使うこと (デバイスはモデルから読みます)。
    """
    raise NotImplementedError


def decision_grid(step: float = 0.01) -> torch.Tensor:
    """決定境界を描くための格子点を作ってください。

    -0.5 から step 刻みで 1.5 の手前まで並べた 1 次元の点列 (-0.5, -0.5 + step, ...; 1.5 は含まない) を
    x1 と x2 とし、すべての組 (x1[i], x2[j]) を並べます (meshgrid の indexing='ij' の並び)。
    入力: step (float、点の間隔。既定 0.01)
    出力: 形状 (N, N, 2)、float32 のテンソル (N は点列の長さ。step=0.01 なら (200, 200, 2))。
          grid[i, j] == [x1[i], x2[j]]。例: grid[0, 1] == [-0.5, -0.49]
    """
    raise NotImplementedError


def predict_grid(model: nn.Module, grid: torch.Tensor) -> torch.Tensor:
    """格子点 grid の各点で、モデルがクラス 1 と予測する確率を計算してください。

    入力: model (2 値分類モデル。最後の次元が 2 の入力に対して、最後の次元が 1 のロジットを返す)、
          grid (形状 (H, W, 2)、float32。decision_grid の出力など)
    出力: 形状 (H, W, 1)、float32 のテンソル (モデルと同じデバイスの上)。各値はロジットではなく確率 (0 以上 1 以下)。
    条件: 計算グラフを作らないこと。モデルを評価モード (model.eval()) にしてから呼び、呼び出しのあとも
          評価モードのままにすること。grid はモデルのパラメータと同じデバイスに移してから渡すこと。
    """
    raise NotImplementedError


def confusion_counts(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """【発展課題】2 値分類モデルの混同行列 (正解と予測の組ごとの件数) を、ループを使わずに作ってください。

    入力: model (predict_labels と同じ 2 値分類モデル)、x (形状 [B, 2]、float32)、
          labels (形状 [B]、int64、各要素は 0 か 1 の正解ラベル)
    出力: 形状 [2, 2]、dtype int64 のテンソル (モデルと同じデバイスの上)。counts[t, p] は、正解が t で予測が p
          だった件数です (行が正解、列が予測: [[0 を 0 と予測, 0 を 1 と予測], [1 を 0 と予測, 1 を 1 と予測]])。
          すべての要素の和は B です。どちらかのクラスが一度も出てこなくても形状は [2, 2] です。
          予測ラベルの決め方は predict_labels と同じ (クラス 1 の確率が 0.5 以上なら 1) です。
    条件: - ループや内包表記を使わないこと (ヒント: 正解と予測の組 (t, p) は 2 * t + p で 0〜3 の番号になります)。
          - 計算グラフを作らないこと。モデルを評価モードにしてから呼び、呼び出しのあとも評価モードのままにすること。
          - x と labels はモデルのパラメータと同じデバイスに移してから使うこと (デバイスはモデルから読みます)。
    """
    raise NotImplementedError
