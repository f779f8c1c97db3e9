"""Japanese message templates shown to the learner and the instructor.

Every Japanese string the engine (``kata/``) shows is a constant here or in ``kata/api/hints.py``, so that the engine's
tests import the same constant and a wording change cannot silently break a test; tests/test_engine_words.py fails on
a Japanese string literal anywhere else in ``kata/`` (the class-grading package keeps its own words in
``kata/classroom/messages.py``) and on a constant here that nothing uses.  Templates use ``str.format`` fields.

Words that only one chapter's checks use (a verdict about that chapter's exercise, a hint that names its API) are
not here: they are constants at the top of that chapter's check file (``checks/NN_topic/test_*.py``), under the
headings "verdict templates only these checks use" and "hints only these checks use".  The engine keeps the
generic ones, which any chapter's checks may use.
"""

# -- verdict words -----------------------------------------------------------------------------------------------
MARK_PASS = "✔"
MARK_FAIL = "✘"
MARK_TODO = "未着手"
MARK_SKIP = "スキップ"

# -- comparison templates, one per attribute, in the order they are compared ------------------------------------
TYPE = "『{name}』の型が違います。期待: {expected}、実際: {actual}"
LENGTH = "『{name}』の要素数が違います。期待: {expected} 個、実際: {actual} 個"
SHAPE = "『{name}』の形状 (shape) が違います。期待: {expected}、実際: {actual}"
DTYPE = "『{name}』のデータ型 (dtype) が違います。期待: {expected}、実際: {actual}"
DEVICE = "『{name}』のデバイス (device) が違います。期待: {expected}、実際: {actual}"
CONTIGUOUS = "『{name}』の連続性 (is_contiguous()) が違います。期待: {expected}、実際: {actual}"
SHARES_MEMORY = "『{name}』が『{other}』とメモリを共有していません (view ではなくコピーになっています)。"
COPIES_MEMORY = "『{name}』が『{other}』とメモリを共有しています (独立したコピーが必要です)。"
REQUIRES_GRAD = "『{name}』の requires_grad が違います。期待: {expected}、実際: {actual}"
IS_LEAF = "『{name}』の is_leaf (葉テンソルかどうか) が違います。期待: {expected}、実際: {actual}"
GRAD_FN = "『{name}』の grad_fn が違います。期待: {expected}、実際: {actual}"
GRAD_MISSING = "『{name}』が None です (勾配が計算されていません)。期待: 勾配 (形状 {expected})"
GRAD_UNEXPECTED = "『{name}』の勾配 (.grad) は None のはずですが、値が入っています。"
VALUES = (
    "『{name}』の値が違います。{count} / {total} 要素 ({share:.1%}) が許容誤差を超えています。"
    "最大の差は {diff} (位置 {index}、期待 {expected}、実際 {actual})。許容誤差: rtol={rtol}, atol={atol}"
)
VALUES_EXACT = (
    "『{name}』の値が違います。一致しない要素: {count} / {total} 個 ({share:.1%})。"
    "例: 位置 {index} (期待 {expected}、実際 {actual})。"
)
SCALAR_EXACT = "『{name}』の値が違います。期待: {expected}、実際: {actual}"
SCALAR_VALUE = "『{name}』の値が違います。期待: {expected}、実際: {actual} (許容誤差: rtol={rtol}, atol={atol})"
EQUAL = "『{name}』が違います。期待: {expected}、実際: {actual}"
# What a verdict calls the compared value when the check names nothing else (kata.api.compare's defaults).
NAME_RETURNED = "戻り値"
NAME_INPUT = "入力"
NAME_GRAD = "勾配"
TYPE_OR = " または "  # between the accepted types in TYPE's {expected}: "int または float"

# -- facts that are not a comparison with an expected value -----------------------------------------------------
SAME_OBJECT = "『{name}』は入力『{other}』そのもの (同じオブジェクト) を返す必要があります。新しいオブジェクトが返されました。"
INPUT_MUTATED = "入力『{name}』が書き換えられています。入力は変更しないでください。"
RNG_CHANGED = "グローバルな乱数状態 ({which}) が変わっています。グローバル乱数を消費・再設定しないでください。"
GIVEN_GENERATOR_NAME = "渡した generator"
GENERATOR_STATE = ("『{name}』の状態が、期待どおりに乱数を引いたあとの状態と違います (渡した generator から"
                   "引いていないか、引いた回数が違います)。")
VALUES_UNREADABLE = ("『{name}』の値を読み出して比べられません ({why})。値を持つふつうのテンソル (CPU など) を"
                     "返しましょう。meta デバイスのテンソルは形と型だけで、値を持ちません。")
STATE_CHANGED = "グローバルな設定『{what}』が変わっています。期待: {expected}、実際: {actual}"
FORBIDDEN_OP = "この演習では『{op}』は使えません (使われた関数: {used})。"
# Op rules read from the source text (kata.api.staticrules): they count in kata grade too.
SOURCE_PLACE = "『{file}』の {line} 行目"
FORBIDDEN_NAME = "この演習では『{op}』は使えません ({where}: {used})。"
FORBIDDEN_DYNAMIC = ("この演習では、関数を名前の文字列や実行時の検索で取り出す書き方は使えません ({where}: {used})。"
                     "禁止された関数が隠れてしまうため、使う関数は名前を直接書きましょう。")
COMPREHENSION = "内包表記"
GENERATOR_EXPRESSION = "ジェネレータ式"
FORBIDDEN_LOOP = ("この演習では Python のループは使えません ({where}: {used})。"
                  "ループを使わず、テンソルの演算で一度に計算しましょう。")
NOT_REPRODUCIBLE = "『{name}』が再現できていません。同じシードなのに結果が違います。"

# -- exceptions and failures outside the comparison -------------------------------------------------------------
TODO = "未着手です: 関数の本体はまだ NotImplementedError を送出しています。"
EXCEPTION = "『{where}』で例外が発生しました: {exc_type}: {exc_msg}"
IMPORT_SYNTAX = "『{file}』の {line} 行目に構文エラーがあります: {msg}"
IMPORT_ERROR = "『{file}』を読み込めませんでした ({where}): {exc_type}: {exc_msg}"
IMPORT_MISSING_FILE = "『{file}』が見つかりません。"
IMPORT_TIMEOUT = "『{file}』の読み込み (import) が時間切れになりました。モジュールの一番外側で無限ループや重い処理をしていませんか？"
MISSING_NAME = "『{file}』に『{exercise}』が定義されていません。名前を変えたり削除したりしていませんか？"
TIMEOUT = "時間切れです ({seconds} 秒を超えました)。無限ループや非常に重い計算になっていませんか？"
EXIT_CALLED = "学習者のコードが終了処理 ({what}) を呼びました。sys.exit などは使わないでください。"
ASSERT_FAILED = "assert に失敗しました"  # a check's own bare assert, which carries no message
CHECK_ERROR = "チェック側の内部エラーです (講師に連絡してください): {exc_type}: {exc_msg}"

SKIP_NO_CUDA = "CUDA が使えない環境なのでスキップします"
SKIP_NO_MPS = "MPS が使えない環境なのでスキップします"

HINT_PREFIX = "ヒント: "
NEXT_HINT = "さらにヒントを見る: {hint}"

# -- summary --------------------------------------------------------------------------------------------------
SUMMARY_TITLE = "Intro2DL カタ"
# The learner's terminal (kata.learning.reporter): the line after the header, and the closing counts in the summary's title.
COLLECTED = "チェック {count} 個を実行します"
COLLECTED_DESELECTED = " (ほかの {count} 個は -k などで除いています)"
COLLECTED_ERRORS = " (読み込めなかったファイル: {count} 個)"
STOPPED_AFTER = "正解にならなかったチェックが {count} 個になったので、ここで止めました (-x)"
LAST_FAILED = "前回不合格だったチェックをもう一度実行します (--lf)"
SUMMARY_TITLE_STATS = "{title} — {stats}"
STATS_LINE = "チェック {count} 個: {parts} ({seconds:.1f} 秒)"
STATS_PART = "{word} {count}"
# Above the first run's table: every exercise of the run untouched and none solved anywhere yet.
FIRST_RUN = ("はじめは、すべての演習が「未着手」です。これで正常です (準備はできています)。\n"
             "最初の演習に正解するまで、この表示が続きます。")
EXERCISE_LINE = "{mark} {chapter} {exercise}{detail}"
TABLE_ROW = "{chapter}  {title}  {solved:>2} / {total:<2}{mark}  {next}"
TABLE_ALL_DONE = "完了"
TABLE_UNVERIFIED = "GPU では未確認"  # every exercise passed here, but checks that need a GPU were skipped
STALE_MARK = "*"
UNTOUCHED_CHAPTERS = "{mark} {chapters} (まだ手をつけていない章)"
FILE_LINE = "{mark} {chapter} {file}{detail}"  # a chapter's file that could not be imported: one line for the file
FILE_UNREADABLE_EXERCISES = "(この章の演習 {count} 個は、このエラーを直すまでチェックできません)"
MORE_FAILED = "(この演習のほかのチェックも {count} 個が不合格)"
NOT_RUN_AFTER_TIMEOUT = "(時間切れになったので、この演習の残りのチェック {count} 個は実行していません)"
UNVERIFIED_DETAIL = " (GPU では未確認: スキップしたチェック {count} 個)"
ALL_DONE_UNVERIFIED = "この環境で確かめられる演習には、すべて正解しました (GPU が必要なチェックは未確認です)。"
SLOW_CHECK = "… 『{chapter} {exercise}』のチェックを待っています ({seconds} 秒経過、{limit} 秒で打ち切ります)"
# The legend under the table: each mark of this run once.  (key, text); keys: pytest's categories and "todo".
LEGEND = "記号: {items}"
LEGEND_SEPARATOR = "、"
LEGEND_LETTERS = (("passed", ". 正解"), ("failed", "F 不正解"), ("todo", "T 未着手"), ("skipped", "s スキップ"),
                  ("error", "E チェックの準備で失敗"))
LEGEND_STALE = "{mark} 前回のチェックのあとでファイルが変わった章"
NEXT_STEP = "次はこれ: 『{exercise}』(ファイル {file})"
# The chapter's lesson (kata/lessons.py): printed under a chapter's header and after 「次はこれ」.
READ_LESSON = "この章の解説: {read} (exercises/{key}/README.md)"
# How each next step is written in the tool the learner is using (kata.frontend): the step fields of the templates
# above and below ({hint}, {check}, …).  {chapter} is two digits, {exercise} a name, {seed} the session seed and
# {chapter_arg} the chapter as a Python argument ("06", or None for every chapter).
NEXT_STEP_FORMS = {
    "terminal": {
        "hint": "kata hint {chapter} {exercise}",
        "solution": "kata solution {chapter} {exercise}",
        "solution_force": "kata solution {chapter} {exercise} --force",
        "force": "--force",
        "check": "pytest exercises/{chapter}",
        "check_seed": "--kata-seed={seed}",
        "read": "kata read {chapter}",
        "reset": "kata reset {chapter}",
        "install_plot": 'pip install -e ".[plot]"',
    },
    "notebook": {
        "hint": 'kata.hint("{chapter}", "{exercise}")',
        "solution": 'kata.solution("{chapter}", "{exercise}")',
        "solution_force": 'kata.solution("{chapter}", "{exercise}", force=True)',
        "force": "force=True",
        "check": "kata.check({chapter_arg})",
        "check_seed": 'kata.check({chapter_arg}, "--kata-seed={seed}")',
        "read": 'kata.read("{chapter}")',
        "reset": 'kata.reset("{chapter}")',
        "install_plot": '%pip install -e ".[plot]"',
    },
}
LESSON_MISSING = "{chapter} の解説 (README.md) が見つかりません。"
ALL_DONE = "すべての演習に正解しました。おめでとうございます！"
NOT_A_CHECKOUT = (
    "章が見つかりません: kata が学習用リポジトリの外 ({where}) から読み込まれています。"
    "「pip install .」ではなく、リポジトリのフォルダで「pip install -e .」を実行してください"
    " (-e を付けると、リポジトリの exercises/ と checks/ がそのまま使われます)。"
)

# -- recorded calls (kata.api.observe), a number in a range, the inputs a wrapped model saw (kata.api.probe) -------------------
CALL_MISSING = "『{what}』が呼ばれていません。"
CALL_ARGS = "『{what}』が期待と違う引数で呼ばれました。期待: {expected}、実際: {actual}"
OUT_OF_RANGE = "『{name}』が範囲外です。期待: {low} < {name} < {high}、実際: {actual}"
INPUT_DEVICE = "『{name}』がモデルに渡した入力のデバイスが違います。期待: {expected} (モデルのパラメータのデバイス)、実際: {actual}"

# -- what a wrapped model saw while the learner's code ran it (kata.api.probe); values in [0, 1] ---------------------------
MODEL_NOT_CALLED = "『{name}』の中でモデルが一度も呼ばれていません。渡された model で予測を計算してください。"
GRAD_ENABLED_IN_FORWARD = (
    "『{name}』の中でモデルを呼んだとき、勾配の記録が有効でした (torch.is_grad_enabled() が True)。"
    "評価では計算グラフを作らないでください。"
)
TRAINING_IN_FORWARD = "『{name}』の中でモデルが学習モード (model.training が True) のまま呼ばれました。"
NOT_IN_UNIT_INTERVAL = "『{name}』に 0 以上 1 以下の範囲を外れた値があります。実際: {actual}"

# -- values and operations: nan / inf, an operation that must be used --------------------------------------------------
NOT_FINITE = "『{name}』に nan または inf が {count} / {total} 要素あります (入力 {where})。"
MUST_USE_OP = "『{name}』の計算に『{op}』が一度も使われていません。この演習では『{op}』を使って計算してください。"

# -- the pytest plugin's options, its header line and its usage errors (kata.plugin) -----------------------------
OPT_SOLUTIONS = "学習者のファイルの代わりに模範解答 (solutions/) をチェックする"
OPT_SUBMISSION = "提出物のフォルダ (その exercises/ をチェックする。チェックと模範解答はこのリポジトリのもの)"
OPT_REPORT = "結果を JSON で FILE に書き出す"
OPT_REPORT_FORMAT = ("--kata-report の形式: learning (既定、学習用の version 1) か json (kata grade --format json と"
                     "同じ形式)")
OPT_SEED = "入力を作る乱数のシード (既定: 毎回ランダム、環境変数 KATA_SEED も可)"
OPT_MUTANTS = "自己検証: tests/mutants/ の誤答カタログをチェックにかける"
OPT_ANSWERS = "自己検証: tests/answers/ の別解カタログ (模範解答と違う書き方の正解) をチェックにかける"
OPT_SANDBOX = "採点モード: 学習者のコードを別プロセスのサンドボックスで動かし、結果をデータとして受け取る"
OPT_STREAM = "採点モード: チェックの結果を 1 行ずつ JSON で FILE に書き出す (kata grade が使います)"
OPT_CONTRACT = "採点モード: 制限時間などの採点の設定を JSON の FILE から読む (kata grade が書きます)"
OPT_COURSE = ("コース (checks/ と solutions/ があるフォルダ) の場所 (既定: pytest の rootdir がコースならそこ、"
              "それ以外はこのリポジトリ)")
OPT_ISOLATION = "サンドボックスの隔離方法 (既定: この環境で使える最も強いもの)"
# What the run checks, by mode ({submission}: the submission's folder).
HEADER_TARGETS = {"solutions": "模範解答 (solutions/)", "mutants": "誤答カタログ (tests/mutants/)",
                  "submission": "提出物 {submission}", "exercises": "あなたの解答 (exercises/)"}
# Two lines, so that each fits an 80-column terminal.
HEADER_TARGET = "kata: チェック対象 = {target}\n乱数シード = {seed} (同じ入力で再現するには: {check_seed})"
SEED_NOT_INTEGER = "『{where}』の値 {raw!r} は整数ではありません。例: {where}=1234"
NOT_A_COURSE = "『{root}』に checks/NN_名前/chapter.toml がありません。"
SUBMISSION_NO_EXERCISES = "提出物『{submission}』に exercises/ フォルダがありません。"
BAD_CHAPTER_FILE = "『{chapter}』のファイルは {file} です ({name!r} はありません)。"

# -- grading: kata grade / kata verify (kata.grading.parent, kata.report, kata.manifest) ---------------------------------
GRADE_PASS = "正解"
GRADE_NOT_RUN_TIMEOUT = ("章の制限時間 ({seconds} 秒) を超えたため採点を打ち切りました。このチェックは実行されていません。"
                         "無限ループや非常に重い計算になっていませんか？")
GRADE_NOT_RUN_EXIT = ("採点プロセスが途中で終了しました (終了コード {code})。このチェックは実行されていません。"
                      "sys.exit / os._exit / pytest.exit などを呼んでいませんか？")
GRADE_NOT_RUN = "このチェックは実行されませんでした ({why})。"
GRADE_NO_CHECKS = "この演習のチェックを集められませんでした (講師に連絡してください)。"
GRADE_REFUSED_IN_PLACE = ("その場での採点を拒否しました: チェック・エンジン・模範解答がマニフェスト ({manifest}) と"
                          "一致しません。変更されたファイル: {files}")
GRADE_NO_SUBMISSION = "提出物のフォルダ {path} がありません。"
GRADE_SUMMARY = "採点結果: {score:g} / {max_score:g} 点 ({chapters} 章、{exercises} 演習)"
GRADE_CHAPTER_LINE = "{chapter}  {title}  {score:g} / {max_score:g}{note}"
GRADE_WROTE = "{format} 形式のレポートを『{path}』に書き出しました。"
VERIFY_OK = "マニフェスト『{manifest}』と一致しました ({count} ファイル)。"
VERIFY_CHANGED = "変更されています: {path}"
VERIFY_MISSING = "見つかりません: {path}"
VERIFY_EXTRA = "マニフェストにないファイルがあります: {path}"
VERIFY_NO_MANIFEST = "マニフェスト {manifest} がありません。講師は python -m kata.manifest --write で作成してください。"
VERIFY_DIGEST = "マニフェスト自体のハッシュが指定と違います。期待: {expected}、実際: {actual}"
VERIFY_FAILED = "チェック・エンジン・模範解答が配布時から変更されています ({count} 件)。"

# -- the learner's loop: progress table details, the kata command (kata/cli/) --------
TABLE_HEADER_TITLE = "タイトル"
TABLE_HEADER_ALIGNED = "章  {title}  解答済み  次の演習"
PARTIAL_DETAIL = " (一部のチェックだけ実行したので、まだ解答済みには数えません)"
TABLE_PARTIAL_NOTE = (
    "※ 一部のチェックしか実行していないため、解答済みに数えていない演習: {exercises}"
    " (-k / -x / --lf を付けずに実行すると確かめられます)"
)

CLI_ERROR = "kata {command}: {message}"
CLI_ARG_REQUIRED = "必要な引数がありません: {names}"
CLI_ARG_CHOICE = "『{name}』に指定できない値です: {value}。選べるもの: {choices}"
CLI_ARG_UNKNOWN = "知らない引数です: {args}"
CLI_ARG_OTHER = "引数が正しくありません: {message}"
CLI_USAGE = "使い方: "
CLI_HELP = "このヘルプを表示して終了する"
CLI_POSITIONALS = "引数"
CLI_OPTIONS = "オプション"
CLI_DESCRIPTION = "Intro2DL カタ: PyTorch の基礎を演習で学ぶ"
CLI_COMMAND = "コマンド"  # metavar of the sub-command
ARG_EXERCISE = "演習"  # metavar
ARG_NAME = "名前"  # metavar
ARG_EXERCISE_NAME = "演習の名前 (例: grad_of_mean)"
ARG_CHAPTER_OR_ALL = "章の番号 (省略するとすべての章)"
ARG_SECONDS = "秒"  # metavar
LIST_HELP = "すべての章と演習の状態 (✔ / ✘ / 未着手) をチェックを実行して表示する"
LIST_DESCRIPTION = "チェックを実際に実行して、章ごとに各演習の状態を表示します。"
LIST_ARG_CHAPTER = "この章だけを表示する (例: 06)"
HINT_HELP = "演習のヒントを 1 段階ずつ表示する (段階は記憶される)"
HINT_DESCRIPTION = "呼ぶたびに次の段階のヒントを表示します。最初は問いかけ、だんだん具体的になります。"
HINT_ARG_RESET = "ヒントの段階を最初に戻す"
CHECK_HELP = "章のチェックを実行する (pytest exercises/NN と同じ)"
CHECK_DESCRIPTION = "pytest exercises/NN と同じです。章のあとに pytest の引数 (-x, -k 名前 など) を続けられます。"
CHECK_USAGE = "kata check [章] [pytest の引数 ...]"
WATCH_HELP = "ファイルを保存するたびにその章のチェックを実行する"
WATCH_DESCRIPTION = "演習ファイルを見張り、保存されるたびにその章のチェックを実行します。Ctrl+C で終了します。"
WATCH_USAGE = "kata watch [章] [--interval 秒] [pytest の引数 ...]"
WATCH_ARG_INTERVAL = "保存を確かめる間隔 (既定 0.03 秒)"
WATCH_ARG_CHAPTER = "この章だけを見張る (省略するとすべての章)"
WATCH_BAD_INTERVAL = "--interval {value}: 0 より大きい秒数を指定してください"
RESET_HELP = "章または 1 つの演習を初期状態 (スタブ) に戻す (元のファイルはバックアップ)"
RESET_DESCRIPTION = "演習ファイルを初期状態に戻します。元のファイルは .kata/backup/ に保存されます。"
RESET_ARG_EXERCISE = "この演習だけを戻す (省略すると章のファイル全体)"
SOLUTION_HELP = "正解した演習の模範解答を表示する"
SOLUTION_DESCRIPTION = "演習のチェックを実行し、正解していれば模範解答を表示します。"
SOLUTION_ARG_FORCE = "正解していなくても表示する (警告つき)"
STATE_DIR_GITIGNORE = "# kata の状態 (ヒントの段階、バックアップ): git では管理しない\n*\n"  # .kata/.gitignore
BAD_CHAPTER = "章 {token!r} はありません。選べる章: {choices}"
NO_CHAPTER = "章を指定してください。選べる章: {choices}"
BAD_EXERCISE = "『{chapter}』に演習 {name!r} はありません。選べる演習: {choices}"
NO_EXERCISE = "演習を指定してください。『{chapter}』の演習: {choices}"
# The course's tracks (kata.catalog): the setting `[tool.kata] tracks` in pyproject.toml and `track` in chapter.toml.
BAD_TRACKS_SETTING = ("『{file}』の [tool.kata] tracks の値『{value!r}』は読めません。選べるトラックの名前を 1 つ以上並べたリストに"
                      "してください (例: tracks = [\"core\"])。選べるトラック: {choices}")
BAD_TRACK = "『{file}』の演習『{exercise}』に書かれたトラック『{track}』はありません。選べるトラック: {choices}"
LEFT_OUT_EXERCISE = ("演習『{name}』はこのコースでは扱いません (トラック『{track}』が pyproject.toml の [tool.kata] tracks に"
                     "ありません)。")
BAD_ROOT = "『{root}』に exercises/ フォルダがありません。学習用リポジトリのフォルダを指定してください。"
MISSING_LEARNER_FILE = "『{file}』が見つかりません。章ごと初期状態に戻すには: {reset}"

STATUS_WORDS = {"pass": "正解", "fail": "不正解", "todo": "未着手", "skip": "スキップ", "partial": "一部のみ確認",
                None: "結果なし"}
# The closing counts' words per pytest category (kata.learning.reporter): the status words above, the legend's for errors.
STATS_WORDS = {"passed": STATUS_WORDS["pass"], "failed": STATUS_WORDS["fail"], "todo": STATUS_WORDS["todo"],
               "skipped": STATUS_WORDS["skip"], "error": dict(LEGEND_LETTERS)["error"].split(" ", 1)[1],
               "xfailed": "予想どおりの失敗", "xpassed": "予想外の成功", "deselected": "除外"}
LIST_RUNNING = "チェックを実行しています…"
LIST_CHAPTER = "{chapter}  {title}  ({solved} / {total})"
LIST_EXERCISE = "    {mark}  {exercise}{detail}"
MARK_UNKNOWN = "？"
LIST_NO_RESULT = " — チェックを実行できませんでした (確認するには: {check})"
RUN_FAILED = "チェックを実行できませんでした (pytest の終了コード {code})。出力の最後:\n{tail}"

HINT_TITLE = "ヒント {level} / {total} — {chapter} {exercise}"
HINT_MORE = "次のヒント: {hint}"
HINT_LAST = "ヒントはこれで全部です。正解したら模範解答と見比べられます: {solution}"
HINT_FORGOTTEN = "『{chapter} {exercise}』のヒントを最初の段階に戻しました。次は: {hint}"

RESET_CHAPTER = "『{file}』を初期状態 (スタブ) に戻しました。"
RESET_EXERCISE = "『{file}』の『{exercise}』を初期状態 (スタブ) に戻しました。"
RESET_APPENDED = "『{file}』に『{exercise}』が見つからなかったので、初期状態の『{exercise}』をファイルの末尾に追加しました。"
RESET_BACKUP = "元のファイルは『{backup}』に保存しました。"
RESET_CREATED = "『{file}』がなかったので、初期状態 (スタブ) で作りました。"
RESET_UNCHANGED = "『{target}』はすでに初期状態です。何も変更していません。"

SOLUTION_TITLE = "模範解答 — {chapter} {exercise} ({file})"
SOLUTION_LOCKED = (
    "{chapter} {exercise} はまだ正解していません (今の結果: {status})。模範解答は正解してから見られます。"
    "ヒント: {hint}。どうしても見るなら: {solution_force}"
)
SOLUTION_FORCED = (
    "警告: {chapter} {exercise} はまだ正解していません (今の結果: {status})。{force} なので模範解答を表示します。"
    "答えを先に見ると身につきにくくなるので、読んだあとは閉じて自分で書き直してみましょう。"
)

WATCH_PREPARING = "kata watch: 準備しています (torch とチェックを読み込み中)…"
WATCH_START = "kata watch: 見張っているファイル: {files}。保存するたびにその章のチェックを実行します。"
WATCH_CHANGED = "── {time}  保存されました: {file} ──"
WATCH_WAITING = "保存を待っています… (終了するには Ctrl+C)"
WATCH_STOPPED = "kata watch を終了しました。"

# -- training steps (checks of several chapters) and files the learner's code writes -----------------------------------
PARAMS_NOT_UPDATED = "『{name}』のあとも、モデルのパラメータが更新されていません (呼ぶ前と同じ値のままです)。"
GRADS_ACCUMULATED = "『{name}』のあとのパラメータが期待と違います。古い勾配が足し合わされたまま更新したときの値と一致します。"
EVAL_MODE_IN_FORWARD = "『{name}』の中でモデルが評価モード (model.training が False) のまま呼ばれました。"
FILE_NOT_WRITTEN = "『{path}』にファイルが書き出されていません。"

# -- GitHub Classroom (kata.report): the fallback result when grading did not finish, the log summary -------------
CLASSROOM_NOT_GRADED = ("採点を最後まで実行できませんでした。この実行のログ (『Grade』の手順) に理由があります。"
                        "解決しないときは講師に連絡してください。")
CLASSROOM_TAMPERED = ("チェック・エンジン・模範解答 (kata/、checks/、solutions/ など) が配布時から変更されているため、"
                      "採点しませんでした。ログの『Tamper check』の手順に挙がったファイルを元に戻して、push し直してください。")
CLASSROOM_ERROR_TEST = "採点"  # the name of the one errored test in that fallback result
CLASSROOM_MARK_TODO = "・"  # a not-yet-attempted exercise in the log summary (then ✔ / ✘ as in the learner's table)

# -- command-line help shared by several commands, kata read (kata.lessons), python -m kata.manifest -------------
ARG_CHAPTER = "章"  # metavar
ARG_CHAPTER_NUMBER = "章の番号 (例: 06)"
READ_HELP = "章の解説 (何を・なぜ学ぶか、出典、大事な API、よくある間違い) を表示する"
READ_DESCRIPTION = "章の解説 exercises/NN_topic/README.md を表示します。"
MANIFEST_DESCRIPTION = ("採点経路 (kata/, checks/, solutions/, conftest.py, pyproject.toml) のハッシュ一覧 "
                        "kata/MANIFEST.sha256 を作る・確かめる")
MANIFEST_ARG_WRITE = "マニフェストを作り直す (講師用)"
MANIFEST_ARG_ROOT = "リポジトリのルート (既定: このリポジトリ)"

# -- how the sandbox isolates the learner's code, by isolation level (kata.grading.sandbox.zygote; in every report) ------
ISOLATION_TEXT = {
    "root": "学習者のコードは章ごとに専用のユーザー ID で、独立したマウント・PID・ネットワーク名前空間の中で動きます"
            "(採点側のファイルは見えず、ほかの章や採点プロセスにシグナルを送れず、起動したプロセスは一緒に終了します)。",
    "userns": "学習者のコードはユーザー名前空間の中の独立したマウント・PID・ネットワーク名前空間で動きます"
              "(採点側のファイルは見えず、起動したプロセスは一緒に終了します)。ただし root ではないため、"
              "章ごとのユーザー ID の分離はありません。",
    "basic": "学習者のコードは別プロセス (新しいセッション、リソース制限つき) で動きますが、名前空間が使えないため、"
             "採点と同じユーザーの権限で動きます: 同じユーザーが読めるファイルは読め、同じユーザーのプロセスに"
             "シグナルを送れます。採点結果はプロセス境界の外で判定されるので偽造はできませんが、"
             "信頼できない提出物は root (Gradescope など) で採点してください。",
}

# -- kata grade / kata verify: command-line help (kata.grading.parent) ------------------------------------------------
GRADE_HELP = "提出物を採点してレポートを書き出す (講師・CI 用)"
GRADE_DESCRIPTION = ("学習者のリポジトリ (その exercises/) を、このリポジトリのチェックと模範解答で採点します。"
                     "学習者のコードは章ごとに隔離された別プロセス (サンドボックス) で動き、結果はデータとして"
                     "受け取ります。レポートを書き出せば、点数にかかわらず終了コードは 0 です。")
GRADE_ARG_SUBMISSION = "提出物のフォルダ (リポジトリのコピー、exercises フォルダ、またはファイルを並べたもの)"
GRADE_ARG_FORMAT = "レポートの形式 (既定: json)"
GRADE_ARG_OUTPUT = "レポートの書き出し先 (採点の途中から書き、随時更新します。既定: 標準出力)"
GRADE_ARG_CHAPTERS = "採点する章 (例: 01,03 や 01-04。既定: すべて)"
GRADE_ARG_SEED = "チェックの入力を作る乱数のシード (既定: 毎回ランダム。レポートに記録されます)"
GRADE_ARG_JOBS = "同時に走らせる採点プロセスの数 (既定: 使える CPU とメモリから決めます)"
GRADE_ARG_CHECK_TIMEOUT = "学習者の関数の呼び出し 1 回の制限時間 (秒、既定: {default}。残り時間が少ないときは短くなります)"
GRADE_ARG_BUDGET = "提出物 1 つの採点全体の制限時間 (秒、既定: {default})。超えた分のチェックは「実行せず」になります"
GRADE_ARG_MEMORY = "学習者のプロセスが新たに使えるアドレス空間 (MiB、既定: {default})"
GRADE_ARG_IN_PLACE = "このリポジトリ自身を採点する (チェック類がマニフェストと一致しなければ拒否します)"
GRADE_ARG_VISIBILITY = "gradescope 形式の visibility (既定: visible)"
GRADE_ARG_KEEP = "作業フォルダを消さずに残す (デバッグ用)"
GRADE_ARG_QUIET = "標準エラーに要約を書かない"
GRADE_BAD_LIMIT = "『{option}』には 0 より大きい数を指定してください: {value:g}"
GRADE_CRASHED = "kata grade: 採点を実行できませんでした: {exc_type}: {exc_msg}"
VERIFY_HELP = "チェック・エンジン・模範解答が配布時のマニフェストと一致するか確かめる"
VERIFY_DESCRIPTION = ("kata/, checks/, solutions/, conftest.py, pyproject.toml のハッシュを kata/MANIFEST.sha256 と"
                      "比べ、変更・追加されたファイルを挙げます。一致すれば終了コード 0、しなければ 1 です。")
VERIFY_ARG_ROOT = "確かめるリポジトリ (既定: このリポジトリ)"
VERIFY_ARG_MANIFEST = "比べるマニフェスト (既定: <root>/kata/MANIFEST.sha256)"
VERIFY_ARG_DIGEST = "マニフェスト自体の SHA-256 (講師がワークフローに固定した値)"

# -- the finale, kata run xor (kata.finale, kata.cli.run): what the run prints, why it stops, its help -----------------
FINALE_HEADER = ("XOR の分類をチュートリアルと同じ設定で最初から最後まで実行します ({who})\n"
                 "  訓練データ {train:,} 点 (ノイズの標準偏差 {std})、SimpleClassifier({i}, {h}, {o})、BCEWithLogitsLoss、\n"
                 "  SGD (学習率 {lr})、バッチ {batch} (シャッフル)、{epochs} エポック、シード {seed}")
FINALE_WHO_LEARNER = "第 8〜12 章のあなたの関数を使います"
FINALE_WHO_SOLUTIONS = "模範解答の関数を使います"
FINALE_PROGRESS = "学習中 {bar} {epoch:>3}/{epochs} エポック"
FINALE_TRAINED = "学習が終わりました ({seconds:.1f} 秒)。エポックごとの平均損失: {first:.4f} (1 エポック目) → {last:.4f} ({epochs} エポック目)"
FINALE_SAVED = "パラメータを保存し (save_state)、新しいモデルに読み込みました (load_state): {file}"
FINALE_TEST_LOSS = "テストデータ {n} 点の平均損失 (evaluate_loss): {loss:.4f}"
FINALE_ACCURACY = "テストデータ {n} 点の正解率 (accuracy): {percent:.2f}%"
FINALE_PICTURE_BOUNDARY = "決定境界 (2 つのクラスの色を予測確率で混ぜた画像): {file}"
FINALE_BOUNDARY_KEY = ("  色の意味: 青はクラス 0、橙はクラス 1、その間の色は 2 つのクラスの間の確率です。"
                       "横軸は x1、縦軸は x2 ({low}〜{high})。\n"
                       "  右の帯はクラス 1 の確率 p の色見本です (下が p = 0 で青、上が p = 1 で橙)。")
# The words of the matplotlib plots, where a Japanese font is installed (kata.finale.japanese_font).
FINALE_PLOT_WORDS = {"classification_title": "テストデータと決定境界", "class": "クラス {cls}",
                     "loss_title": "学習中の損失 (BCEWithLogitsLoss)", "epoch": "エポック",
                     "loss": "1 サンプルあたりの平均損失"}
FINALE_NO_JAPANESE_FONT = ("日本語のフォントが見つからないので、グラフの文字は英語で書きました。日本語で書くには、"
                           "Noto Sans CJK JP などの日本語フォントを入れてから (Ubuntu: sudo apt install fonts-noto-cjk)、"
                           "matplotlib のフォントのキャッシュ (~/.cache/matplotlib) を消してください。")
FINALE_PICTURE_FIGURE = "テストデータの点を重ねた図: {file}"
FINALE_PICTURE_LOSS = "損失の推移のグラフ: {file}"
FINALE_NO_MATPLOTLIB = ("損失の推移のグラフと、テストデータの点を重ねた図を描くには matplotlib が必要です。"
                        "入れるには: {install_plot}")
FINALE_LOW_ACCURACY = ("チュートリアルの設定では、正解率はほぼ 100% になります。エポックごとの損失が下がっているか "
                       "(train_model の戻り値) を確かめ、オプティマイザ (make_sgd) と学習ループ (train_step・train_model) を"
                       "見直しましょう")
FINALE_ELAPSED = "全体の時間: {seconds:.1f} 秒"

FINALE_ERR_TODO = "第 {n} 章の『{name}』がまだ未着手です: {check}"
FINALE_ERR_RAISED = "第 {n} 章の『{name}』で例外が発生しました ({where}): {exc_type}: {exc_msg}。確かめるには: {check}"
FINALE_ERR_MISSING = "第 {n} 章の『{name}』が『{file}』に見つかりません。確かめるには: {check}"
FINALE_ERR_IMPORT = "第 {n} 章のファイルを読み込めません: {verdict}。確かめるには: {check}"
FINALE_ERR_WRONG = "第 {n} 章の『{name}』の結果が正しくありません: {detail}。確かめるには: {check}"
FINALE_ERR_BAD_EPOCHS = "エポック数は 1 以上の整数にしてください (指定: {value})"

FINALE_WRONG_TYPE = "{what}の型が違います (期待: {expected}、実際: {actual})"
FINALE_WRONG_SHAPE = "{what}の形状が違います (期待: {expected}、実際: {actual})"
FINALE_WRONG_VALUE = "{what}が違います (期待: {expected}、実際: {actual})"
FINALE_WRONG_NOT_FINITE = "{what}に nan か inf が含まれています"
# What a finale error names (the WRONG_* templates' {what}, {expected}) and its other findings.
FINALE_WHAT_MODEL = "作ったモデル"
FINALE_WHAT_PARAMETER_COUNT = "SimpleClassifier({i}, {h}, {o}) のパラメータの数"
FINALE_WHAT_OUTPUT = "入力 [3, 2] に対する出力"
FINALE_WHAT_LENGTH = "XORDataset({size}) の len() "
FINALE_WHAT_ITEM = "dataset[0] "
FINALE_EXPECTED_ITEM = "(入力点, ラベル) のテンソルのタプル"
FINALE_WHAT_ITEM_SHAPES = "dataset[0] の (入力点, ラベル) "
FINALE_WHAT_BATCH_SIZE = "DataLoader の batch_size "
FINALE_PARAMETERS_NOT_GIVEN = "モデルのパラメータのうち、オプティマイザに渡されていないものがあります"
FINALE_EXPECTED_FLOATS = "float のリスト"
FINALE_WHAT_LOSSES_LENGTH = "戻り値のリストの長さ"
FINALE_EXPECTED_EPOCHS = "エポック数 {epochs}"
FINALE_WHAT_LOSSES = "エポックごとの損失"
FINALE_NOT_WRITTEN = "『{file}』が書き出されていません"
FINALE_UNREADABLE = "torch.load(weights_only=True) で読めません ({exc_type})"
FINALE_WHAT_SAVED = "保存した内容"
FINALE_EXPECTED_STATE_DICT = "state_dict (キー {keys})"
FINALE_NOT_THE_MODEL = "戻り値が、渡したモデルそのものではありません"
FINALE_LOADED_DIFFERS = "読み込んだモデルのパラメータが、保存したものと違います"
FINALE_GRID_WRONG = "格子点の値か並び (grid[i, j] == [x1[i], x2[j]]) が違います"
FINALE_PROBABILITIES_WRONG = "値がクラス 1 の確率 (ロジットに sigmoid をかけた値) と違います"
FINALE_EXPECTED_ACCURACY = "正解率 {accuracy:.4f}"
FINALE_RUN_HELP = "フィナーレ: 第 8〜12 章の自分の関数で XOR の学習を最初から最後まで実行する (kata run xor)"
FINALE_RUN_DESCRIPTION = ("チュートリアルと同じ設定で XOR の分類器を学習し、our_model.tar に保存して読み込み直し、"
                          "テストデータの正解率を表示して、決定境界と損失の推移を PNG 画像に書き出します。")
FINALE_ARG_TASK = "課題"  # metavar
FINALE_ARG_TASK_HELP = "実行する課題 (xor)"
FINALE_ARG_SOLUTIONS = "自分の関数の代わりに模範解答の関数を使う"
FINALE_ARG_OUTPUT = "our_model.tar と画像を書き出すフォルダ (既定: 学習者のフォルダの {output}/)"
FINALE_ARG_EPOCHS = "エポック数 (既定: {epochs})"
ARG_ROOT = "学習者のフォルダ (exercises/ があるところ)。既定: このリポジトリ (環境変数 KATA_ROOT でも指定できます)"

# -- grading sandbox (kata.grading.sandbox) -----------------------------------------------------------------------------
WORKER_DIED = "学習者のコードを実行していたプロセスが途中で終了しました ({how})。"
WORKER_ENDED = "プロセスが終了しました: os._exit・シグナル・メモリ不足などが考えられます"
WORKER_BAD_DATA = "戻り値を採点側に受け渡せませんでした (大きすぎる・壊れているなど)"
ADVISORY_NOTE = "(採点では参考: 学習者のプロセスの中で確かめる規則なので、点数には影響しません)"
SUBMISSION_SYMLINK = "『{file}』はシンボリックリンク (またはその途中にリンクがある) ため、採点できません。ふつうのファイルとして提出してください。"
SUBMISSION_NOT_FILE = "『{file}』はふつうのファイルではない (フォルダ・FIFO・デバイスなど) ため、採点できません。"
SUBMISSION_TOO_LARGE = "『{file}』が大きすぎます (上限 {limit} KiB)。"
SUBMISSION_UNREADABLE = "『{file}』を読めませんでした ({why})。"
GRADE_KEPT = "作業フォルダを残しました: {path}"
GRADE_PENDING = "採点がここまで進む前に終わりました"
#: The sandbox failed its self-test (kata.grading.sandbox.selftest): nothing is graded, exit status 2.  {why}: English,
#: the grader's own detail.
GRADE_SELFTEST_FAILED = ("この環境のサンドボックスでは模範解答が正しく動かないため、採点しません (正しい点を出せないためで、"
                         "提出物の問題ではありません。採点する側の環境を確認してください): {why}")
GRADE_NEEDS_LINUX = "kata grade は Linux でだけ動きます (学習者のコードを隔離するのに Linux の機能を使うため)。"
GRADE_MANIFEST_STALE = ("採点側のファイル {count} 個がマニフェストと一致しません ({files} など)。講師の手元の変更として、"
                        "そのまま採点しました (`python -m kata.manifest --write` でマニフェストを更新できます)。")

# -- the authoring kit: kata dev new / sync / check (kata.authoring) ---------------------------------------------
DEV_HELP = "講師用: 課題の雛形を作る (new)・スタブとマニフェストを作り直す (sync)・章を自己検証する (check)"
DEV_DESCRIPTION = ("講師・メンテナ向けのコマンドです。新しい課題の追加は kata dev new → 雛形の TODO を書く → "
                   "kata dev sync → kata dev check の順に進めます (docs/AUTHORING.md)。")
DEV_NEW_HELP = "新しい課題の雛形を作る (模範解答・chapter.toml の項目・チェック・誤答 3 つ)"
DEV_SYNC_HELP = "solutions/ から exercises/ のスタブを作り直し、マニフェストを更新する"
DEV_CHECK_HELP = "章の自己検証 (模範解答・未着手のスタブ・コピーした模範解答・誤答カタログ) を実行する"
DEV_ARG_CHAPTER = "章 (例: 01。新しい章は 13_topic のように番号と名前で)"
DEV_ARG_CHAPTERS = "章 (例: 01。省略するとすべての章)"
DEV_ARG_NAME = "課題の名前 (関数名。例: scale_tensor)"
DEV_ARG_TITLE = "新しい章の題名 (日本語)"
DEV_ARG_FILE = "新しい章の演習ファイルの名前 (既定: <topic>.py)"
DEV_ARG_SYNC_CHECK = "書き換えずに、揃っているかだけを確かめる (揃っていなければ終了コード 1)"
DEV_BAD_NAME = "課題の名前『{name}』は使えません。英小文字で始まり、英小文字・数字・_ だけからなる名前にしてください (例: scale_tensor)。"
DEV_BAD_FILE = "ファイル名『{file}』は使えません。英小文字・数字・_ だけからなる .py のファイル名にしてください (例: tensors.py)。"
DEV_NAME_TAKEN = "第 {nn} 章 ({key}) には『{name}』がもうあります ({file})。"
DEV_UNKNOWN_CHAPTER = ("『{token}』という章はありません。新しい章を作るときは 13_topic のように番号と名前で指定してください "
                       "(いまの章: {choices})。")
DEV_NUMBER_TAKEN = "番号 {nn} の章はもうあります ({key})。既存の章に課題を足すときは番号だけを指定してください。"
DEV_DEFAULT_TITLE = "TODO(kata dev new): 章の題名"
DEV_NEW_WROTE = "作成しました: {path}"
DEV_NEW_APPENDED = "追記しました: {path}"
DEV_NEW_NEXT = ("次は、上のファイルの TODO(kata dev new) の箇所をすべて書き、kata dev sync でスタブとマニフェストを作り直し、"
                "kata dev check {nn} で自己検証してください。")
DEV_SYNC_WROTE = "スタブを作り直しました: {path}"
DEV_SYNC_STALE = "スタブが模範解答と揃っていません: {path}"
DEV_MANIFEST_WROTE = "マニフェストを作り直しました: {path} ({count} ファイル)"
DEV_MANIFEST_STALE = "マニフェストが採点側のファイルと揃っていません: {path} ({files})"
DEV_SYNC_OK = "exercises/ のスタブ {count} 個とマニフェストは solutions/ と揃っています。"
DEV_SYNC_RUN = "kata dev sync で作り直してください。"
DEV_CHECK_UNFILLED = "雛形に未記入の箇所が {count} か所残っています (TODO(kata dev new))。書き終えてから、もう一度実行してください:"
DEV_CHECK_UNFILLED_AT = "  {path}:{line}: {text}"
DEV_CHECK_RUNNING = "自己検証を実行しています: {chapters} (模範解答・未着手のスタブ・コピーした模範解答・誤答カタログ)…"
DEV_CHECK_CHAPTER_OK = "{mark} {key}: 課題 {exercises} 個、チェック {checks} 個、誤答 {mutants} 個。すべて期待どおりです。"
DEV_CHECK_CHAPTER_NG = "{mark} {key}: 問題が {count} 件あります。"
DEV_CHECK_PROBLEM = "  - {text}"
DEV_CHECK_OK = "自己検証に合格しました ({count} 章)。"
DEV_CHECK_NG = "自己検証に失敗しました ({failed} / {count} 章)。"
DEV_CHECK_SEED = "乱数シード: {seed} (同じ入力でもう一度: kata dev check{chapters} --seed {seed})"
DEV_ARG_SEED = "4 つの実行で使う乱数シード (既定: 毎回ちがう値)"
DEV_ARG_SEEDS = ("確かめるシードの数 (既定: 1)。2 以上なら、最初のシードのあと別のシードで模範解答と誤答カタログを"
                 "繰り返し実行する")
DEV_CHECK_MORE_SEEDS = "模範解答と誤答カタログ: シード {i} / {n} ({seed})…"
DEV_SEED_PROBLEM = "シード {seed}: {text}"
DEV_RUN_NAMES = {"reference": "模範解答 (solutions/)", "stub": "未着手のスタブ (exercises/)",
                 "copied": "exercises/ にコピーした模範解答", "mutants": "誤答カタログ (tests/mutants/)"}
DEV_RUN_BROKEN = "実行「{run}」が結果を書き出さずに終わりました (終了コード {code}):\n{output}"
DEV_NOT_DEFINED = "{exercise}: chapter.toml にありますが、『{file}』に定義がありません"
DEV_HINT_COUNT = "{exercise}: ヒントは 3 つです (問いかけ・考え方・骨組みか解いた例)。いまは {count} つです"
DEV_HINT_JAPANESE = "{exercise}: {rung} つ目のヒントが日本語ではありません"
DEV_HINT_QUESTION = "{exercise}: 1 つ目のヒントは問いかけにします (「？」を含め、空欄 ____ は入れません)"
DEV_HINT_CONCEPT = "{exercise}: 2 つ目のヒントにはドキュメントの URL (https://) を入れ、空欄 ____ は入れません"
DEV_HINT_EXAMPLE_WORD = "例"  # on the first line of a third rung that is a worked example on other data
DEV_HINT_SKELETON = "{exercise}: 3 つ目のヒントは、空欄 ____ つきの骨組みか、別のデータで解いた例 (1 行目に「例」) にします"
DEV_LESSON_MISSING = "{exercise}: 章の解説『{file}』の「## 演習」に `{exercise}` がありません"
DEV_LESSON_TODO = "TODO(kata dev new): 「## 演習」の一覧に `{exercise}` を足してください。"
DEV_ORPHAN_CHECKS = "test_<課題>_<事実> という名前になっていないチェック: {names}"
DEV_NO_CHECKS = "{exercise}: チェックがありません (test_{exercise}_<事実> という名前で書きます)"
DEV_REFERENCE_FAILS = "{exercise}: 模範解答が落ちるチェック: {nodeid}: {verdict}"
DEV_REFERENCE_ALL_SKIPPED = "{exercise}: 模範解答のチェックがすべてスキップされました"
DEV_SKIP_NOT_JAPANESE = "{nodeid}: スキップの理由が日本語ではありません: {verdict}"
DEV_COPIED_FAILS = "{exercise}: exercises/ にコピーした模範解答が落ちるチェック: {nodeid}: {verdict}"
DEV_STUB_NOT_TODO = "{exercise}: 手つかずのスタブで「未着手」にならないチェック: {nodeid} ({status})"
DEV_FEW_MUTANTS = "{exercise}: 誤答カタログに {count} 個しかありません (3 個以上必要です)"
DEV_MUTANT_NOT_RUN = "誤答 {mutant}: どのチェックにもかけられていません"
DEV_MUTANT_PASSES = "誤答 {mutant}: 『{exercise}』のチェックをすべて通ってしまいます"
DEV_MUTANT_UNNAMED = "誤答 {mutant}: 落ちましたが、判定に「{expect}」が含まれていません (判定: {verdicts})"

# An interpreter outside the supported range (kata.pyversion): `kata`, `python -m kata`, `pytest`, kata.check().
PYTHON_TOO_OLD = ("kata: Python {oldest} 以上が必要です (この Python は {major}.{minor} です)。"
                  "対応している Python ({oldest}〜{newest}) で仮想環境を作り直してください (README の「困ったとき」)。")
PYTHON_TOO_NEW = ("kata: この Python ({major}.{minor}) はまだ対応していません。対応しているのは Python {oldest}〜{newest} です。"
                  "{newest} 以下の Python で仮想環境を作り直してください (README の「困ったとき」)。")

#: Every constant above is public: check files and the engine use them by name (a check file keeps its own chapter's
#: words; see tests/test_engine_words.py).
__all__ = [name for name in dict(globals()) if name.isupper() and not name.startswith("_")]
