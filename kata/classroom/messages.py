"""Every Japanese text of ``kata class`` (command help, row statuses, the dashboard), in one place."""
from __future__ import annotations

# -- the commands ---------------------------------------------------------------------------------------------------
COMMAND_METAVAR = "コマンド"
CLASS_HELP = "クラス全員の提出物をまとめて採点し、集計表とダッシュボードを作る (講師用)"
CLASS_DESCRIPTION = ("名簿フォルダ (学習者ごとのサブフォルダ、または zip ファイル) の提出物をまとめて採点します。"
                     "各提出物は kata grade と同じ隔離と制限で採点され、学習者ごとの JSON レポート、scores.csv、"
                     "index.html (ダッシュボード) を書き出します。")
GRADE_HELP = "名簿フォルダの提出物をすべて採点する"
GRADE_DESCRIPTION = ("ROSTER_DIR の中の学習者ごとのフォルダ (GitHub Classroom の clone all や Gradescope の書き出しの形) "
                     "と zip ファイルを採点し、CLASS_DIR に書き出します。中断しても、もう一度実行すれば続きから採点します "
                     "(内容の変わっていない提出物は採点し直しません)。")
MERGE_HELP = "--shard で分けて採点した出力を 1 つのクラスフォルダにまとめる"
MERGE_DESCRIPTION = ("kata class grade --shard K/N の出力フォルダをまとめ、scores.csv とダッシュボードを作り直します。")
ARG_ROSTER = "名簿フォルダ (学習者ごとのサブフォルダ、または学習者ごとの zip ファイルが並んだフォルダ)"
ARG_OUT = "書き出し先のクラスフォルダ"
ARG_SHARDS = "kata class grade --shard で書き出したクラスフォルダ (いくつでも)"
ARG_JOBS = "同時に採点する提出物の数 (既定: 使える CPU とメモリから決めます)"
ARG_SHARD = "名簿のうち K/N 番目の部分だけを採点する (例: 2/4。学習者名のハッシュで決まるので、実行順によりません)"
ARG_CHAPTERS = "採点する章 (例: 01,03 や 01-04。既定: すべて)"
ARG_SEED = "チェックの入力を作る乱数のシード (既定: クラスフォルダに記録したもの。初回はランダム)"
ARG_QUIET = "進み具合と要約を標準エラーに書かない"
ARG_REGRADE = "内容が変わっていない提出物も採点し直す"

BAD_SHARD = "--shard は K/N の形で、1 <= K <= N にしてください (例: 2/4)。『{value}』は使えません。"
NO_ROSTER = "名簿フォルダ『{path}』が見つかりません。"
NO_SHARDS = "まとめるクラスフォルダ『{path}』に kata class grade の出力 (class.json) がありません。"
MERGE_MISMATCH = "『{path}』は別の条件 (章・シード・チェックの版) で採点されているため、まとめられません。"
SUMMARY = "{graded} 人を採点し、{unchanged} 人は変更がないため前回の結果を使いました (問題のあった行: {problems})。平均 {mean} / {max_score} 点。"
WROTE = "書き出し: {path} (scores.csv、index.html、reports/)"
PROGRESS = "採点中 {done}/{total} ({percent}%) 経過 {elapsed} 残り約 {eta}"
PROGRESS_DESC = "採点"
PROGRESS_UNIT = "人"  # what the progress bar counts: learners
TIME_MS = "{minutes} 分 {seconds:02d} 秒"

# -- row statuses (the status column of scores.csv and the dashboard) ------------------------------------------------
STATUS_OK = "採点済み"
STATUS_UNREADABLE_CHAPTERS = "一部の章を採点できませんでした: {chapters}"
STATUS_SYNTAX = "構文エラーのため採点できない章があります: {chapters}"
STATUS_TIMEOUT = "制限時間を超えた演習があります: {exercises}"
STATUS_BUDGET = "採点全体の制限時間を超えたため、一部のチェックを実行していません"
STATUS_NO_FILES = "提出物に演習ファイルが 1 つもありません"
STATUS_GRADER_ERROR = "採点側の問題で採点できませんでした ({why})。もう一度実行してください"
ZIP_BROKEN = "zip ファイルを読めませんでした ({why})"
ZIP_UNSAFE = "zip ファイルに危険な項目があるため展開しませんでした: {member} ({why})"
ZIP_TOO_LARGE = "zip ファイルが大きすぎます (展開後 {limit} MiB まで、項目 {count} 個まで)"
WHY_TRAVERSAL = "フォルダの外を指すパス"
WHY_LINK = "シンボリックリンク"
WHY_SPECIAL = "ふつうのファイルではない"
WHY_MEMBER_SIZE = "1 項目が大きすぎる"
ENTRY_LINK = "名簿フォルダの項目がシンボリックリンクのため採点しませんでした (リンク先はたどりません)"
ENTRY_SPECIAL = "名簿フォルダの項目がふつうのフォルダでも zip ファイルでもないため採点しませんでした"
METADATA_NO_YAML = ("名簿フォルダに Gradescope の submission_metadata.yml がありますが、読むには PyYAML が必要です "
                    "(pip install \"intro2dl-kata[class]\")。学習者はフォルダ名 (submission_…) で表示します。")
METADATA_UNREADABLE = ("Gradescope の submission_metadata.yml を使えませんでした。{why}"
                       "学習者はフォルダ名 (submission_…) で表示します。")
METADATA_NOT_YAML = "学習者ごとの項目が並んだ YAML として読めません ({what})。"

# -- the dashboard --------------------------------------------------------------------------------------------------
CSV_LEARNER = "学習者"
CSV_SID = "学籍番号"
CSV_EMAIL = "メールアドレス"
CSV_FOLDER = "提出フォルダ"
CSV_TOTAL = "合計"
CSV_MAX = "満点"
CSV_STATUS = "状態"

PAGE_TITLE = "クラスの採点結果"
LEARNER_PAGE_TITLE = "{learner}の採点結果"
SUMMARY_LINE = "学習者 {count} 人、平均 {mean} 点 / 満点 {max_score} 点 (中央値 {median} 点)。{problems}"
SUMMARY_PROBLEMS = "問題のあった行が {count} 件あります (状態の列を見てください)。"
SUMMARY_SETTINGS = "シード {seed}、チェックの版 {manifest}、章 {chapters}"
H_HISTOGRAM = "得点の分布"
H_PASS_RATE = "演習ごとの正解率 (章の順)"
H_HEATMAP = "どこで、どんな間違いをしているか (演習 × 判定の種類)"
HEATMAP_NOTE = ("各セルは、その演習がその種類の判定で不正解 (または未着手・未提出) だった学習者の数です。"
                "右端は、未着手・未提出・採点できないファイルを除いて最も多かった判定の文面と、その人数です。")
H_TABLE = "学習者ごとの結果"
FILTER_LABEL = "絞り込み"
FILTER_PLACEHOLDER = "名前や状態で絞り込み"
HIST_X = "得点"
HIST_Y = "人数"
HIST_BAR = "{low}〜{high} 点: {count} 人"
PASS_BAR = "{exercise}: 正解 {passed}/{total} 人 ({percent}%)"
CELL_TITLE = "{exercise} × {attribute}: {count} 人"
COMMON_VERDICT = "最も多い間違い"
COL_EXERCISE = "演習"
COL_LEARNER = "学習者"
COL_TOTAL = "合計"
COL_STATUS = "状態"
COL_VERDICTS = "判定"
COL_RESULT = "結果"
COL_SCORE = "得点"
BACK = "クラス全体に戻る"
EX_STATUS = {"pass": "正解", "fail": "不正解", "todo": "未着手", "skip": "スキップ", "error": "採点不可"}
NO_MISTAKES = "(間違いなし)"
CHECKS_SUMMARY = "チェック {count} 件 (うち不正解・未着手 {failed} 件) の内訳"
CHECK_STATUS = {"pass": "✔ 正解", "fail": "✘ 不正解", "todo": "… 未着手", "skip": "― スキップ",
                "notrun": "― 実行せず"}
ADVISORY = "(参考: 得点に含まれません)"
SHARD_NOTE = "この出力は名簿の一部 (シャード {shard}) です。"

#: Labels of the check result attributes (what kind of mismatch a verdict is about); unknown ones show as they are.
ATTRIBUTE_LABELS = {
    "todo": "未着手", "type": "型", "shape": "形状", "dtype": "データ型", "device": "デバイス", "values": "値",
    "grad": "勾配", "requires_grad": "requires_grad", "is_leaf": "葉テンソル", "grad_mode": "勾配モード",
    "shares_memory": "メモリ共有", "copies_memory": "メモリのコピー", "contiguous": "連続性", "flags": "フラグ",
    "training": "学習モード", "accumulated": "勾配の累積", "not_updated": "更新されない", "missing": "欠落",
    "forbidden": "禁止された操作", "weights_only": "weights_only", "exception": "例外", "assert": "assert",
    "timeout": "時間切れ", "crash": "プロセス異常終了", "exit": "終了の呼び出し", "syntax": "構文エラー",
    "import": "読み込みエラー", "file": "提出ファイル", "unsubmitted": "未提出", "notrun": "実行せず", "timeout-not-run": "実行せず",
    "check": "チェックのエラー", "other": "その他",
}
