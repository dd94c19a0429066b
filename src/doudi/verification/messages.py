"""Sentences for the extract problems of extracts.ErrorCode (shown in the console and the CLI)."""

from django.utils.translation import gettext as _

from doudi.verification.sources import SCHEMAS, Source


def column_label(source: str, column: str) -> str:
    """The Chinese header of a declared column (translated), or the name as given; keys "a+b" too."""
    schema = SCHEMAS.get(Source(source)) if source in {s.value for s in Source} else None
    if schema is None:
        return column
    labels = {c.name: c.label for c in schema.columns}
    return "+".join(_(labels[n]) if n in labels else n for n in column.split("+"))


def problem_text(problem: dict, source: str = "") -> str:
    code, row, value = problem["code"], problem.get("row"), problem.get("value", "")
    column = column_label(source, problem["column"]) if problem["column"] else ""
    where = _("第 %(row)s 行") % {"row": row} if row else _("文件")
    texts = {
        "unreadable": _("文件无法读取：%(value)s"),
        "empty": _("文件中没有数据行"),
        "missing_column": _("缺少列“%(column)s”"),
        "duplicate_column": _("列“%(column)s”重复"),
        "missing_value": _("“%(column)s”不能为空"),
        "invalid_id": _("身份证号“%(value)s”无效（位数、校验位或出生日期不符）"),
        "bad_date": _("“%(column)s”的日期“%(value)s”无法识别"),
        "bad_amount": _("“%(column)s”的金额“%(value)s”无法识别（应为不小于零、最多两位小数的元）"),
        "bad_choice": _("“%(column)s”的值“%(value)s”不在允许的取值中"),
        "duplicate_key": _("主键（%(column)s）与第 %(other)s 行重复"),
    }
    text = texts.get(code, code) % {
        "column": column,
        "value": value,
        "other": ", ".join(str(r) for r in problem.get("other_rows", [])),
    }
    return f"{where}：{text}"
