"""Japanese message templates shown to the learner.

Every string the learner reads is a constant here, so that the engine's tests import the same constant and a
wording change cannot silently break a test.  Templates use ``str.format`` fields.
"""

# -- verdict words -----------------------------------------------------------------------------------------------
MARK_PASS = "✔"
MARK_FAIL = "✘"
MARK_TODO = "未着手"
MARK_SKIP = "スキップ"
WORD_PASS = "正解"
WORD_FAIL = "不正解"

# -- comparison templates, one per attribute, in the order they are compared ------------------------------------
TYPE = "{name} の型が違います。期待: {expected}、実際: {actual}"
LENGTH = "{name} の要素数が違います。期待: {expected} 個、実際: {actual} 個"
SHAPE = "{name} の形状 (shape) が違います。期待: {expected}、実際: {actual}"
DTYPE = "{name} のデータ型 (dtype) が違います。期待: {expected}、実際: {actual}"
DEVICE = "{name} のデバイス (device) が違います。期待: {expected}、実際: {actual}"
CONTIGUOUS = "{name} の連続性 (is_contiguous()) が違います。期待: {expected}、実際: {actual}"
SHARES_MEMORY = "{name} が {other} とメモリを共有していません (view ではなくコピーになっています)。"
COPIES_MEMORY = "{name} が {other} とメモリを共有しています (独立したコピーが必要です)。"
REQUIRES_GRAD = "{name} の requires_grad が違います。期待: {expected}、実際: {actual}"
IS_LEAF = "{name} の is_leaf (葉テンソルかどうか) が違います。期待: {expected}、実際: {actual}"
GRAD_FN = "{name} の grad_fn が違います。期待: {expected}、実際: {actual}"
GRAD_MISSING = "{name} の勾配 (.grad) が None です。期待: 形状 {expected} の勾配"
GRAD_UNEXPECTED = "{name} の勾配 (.grad) は None のはずですが、値が入っています。"
VALUES = (
    "{name} の値が違います。{count} / {total} 要素 ({share:.1%}) が許容誤差を超えています。"
    "最大の差 {diff} は位置 {index} (期待 {expected}、実際 {actual})。許容誤差: rtol={rtol}, atol={atol}"
)
SCALAR_VALUE = "{name} の値が違います。期待: {expected}、実際: {actual} (許容誤差: rtol={rtol}, atol={atol})"
EQUAL = "{name} が違います。期待: {expected}、実際: {actual}"

# -- facts that are not a comparison with an expected value -----------------------------------------------------
SAME_OBJECT = "{name} は入力 {other} そのもの (同じオブジェクト) を返す必要があります。新しいオブジェクトが返されました。"
NOT_SAME_OBJECT = "{name} が入力 {other} そのものです。新しいテンソルを返してください。"
INPUT_MUTATED = "入力 {name} が書き換えられています。入力は変更しないでください。"
RNG_CHANGED = "グローバルな乱数状態 ({which}) が変わっています。グローバル乱数を消費・再設定しないでください。"
STATE_CHANGED = "グローバルな設定 {what} が変わっています。期待: {expected}、実際: {actual}"
FORBIDDEN_OP = "この演習では {op} は使えません (使われた関数: {used})。"
NOT_REPRODUCIBLE = "{name} が再現できていません。同じシードなのに結果が違います。"

# -- exceptions and failures outside the comparison -------------------------------------------------------------
TODO = "未着手です: 関数の本体はまだ NotImplementedError を送出しています。"
EXCEPTION = "{where} で例外が発生しました: {exc_type}: {exc_msg}"
EXCEPTION_NO_LINE = "学習者のコードで例外が発生しました: {exc_type}: {exc_msg}"
IMPORT_SYNTAX = "{file} の {line} 行目に構文エラーがあります: {msg}"
IMPORT_ERROR = "{file} を読み込めませんでした ({where}): {exc_type}: {exc_msg}"
IMPORT_MISSING_FILE = "{file} が見つかりません。"
MISSING_NAME = "{file} に {exercise} が定義されていません。名前を変えたり削除したりしていませんか？"
TIMEOUT = "時間切れです ({seconds} 秒を超えました)。無限ループや非常に重い計算になっていませんか？"
EXIT_CALLED = "学習者のコードが終了処理 ({what}) を呼びました。sys.exit などは使わないでください。"
CHECK_ERROR = "チェック側の内部エラーです (講師に連絡してください): {exc_type}: {exc_msg}"

SKIP_NO_CUDA = "CUDA が使えない環境なのでスキップします"
SKIP_NO_MPS = "MPS が使えない環境なのでスキップします"

HINT_PREFIX = "ヒント: "
NEXT_HINT = "さらにヒントを見る: kata hint {chapter} {exercise}"

# -- summary --------------------------------------------------------------------------------------------------
SUMMARY_TITLE = "Intro2DL カタ"
EXERCISE_LINE = "{mark} {chapter} {exercise}{detail}"
TABLE_HEADER = "章  タイトル                         解答済み  次の演習"
TABLE_ROW = "{chapter}  {title}  {solved:>2} / {total:<2}   {next}"
TABLE_ALL_DONE = "完了"
NEXT_STEP = "次はこれ: {file} の {exercise}"
ALL_DONE = "すべての演習に正解しました。おめでとうございます！"
