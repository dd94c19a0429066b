"""Forms of the rescue pages: they only parse; the services clean and decide (care's form base)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from doudi.care.forms import CareForm, DateInput, DateTimeInput
from doudi.regions.models import Region
from doudi.rescue.models import AidKind, PatrolUnit, Station


class StationForm(CareForm):
    name = forms.CharField(label=_("名称"), max_length=100)
    region = forms.ModelChoiceField(label=_("所在区划"), queryset=Region.objects.none(), empty_label=None)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    capacity = forms.CharField(label=_("床位数"), max_length=12)
    threshold_percent = forms.CharField(
        label=_("预警线（%）"),
        max_length=4,
        required=False,
        help_text=_(
            "在站人数达到床位数的该比例时向区县预警；留空按市民政局参数（政策参数 rescue.station_threshold_percent）"
        ),
    )

    alert_phone = forms.CharField(
        label=_("预警短信接收手机"),
        max_length=30,
        required=False,
        help_text=_("区县民政值班手机：达到预警线时发送短信；留空则只在系统内预警"),
    )

    def __init__(self, *args, regions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions if regions is not None else Region.objects.none()


class OccupancyForm(CareForm):
    day = forms.DateField(label=_("日期"), widget=DateInput())
    occupants = forms.CharField(label=_("在站人数"), max_length=12)


class CheckForm(CareForm):
    day = forms.DateField(label=_("日期"), widget=DateInput())
    disinfection = forms.BooleanField(label=_("环境消毒"), required=False)
    temperature_checks = forms.BooleanField(label=_("体温检测"), required=False)
    isolation_room = forms.BooleanField(label=_("隔离观察室"), required=False)
    masks = forms.BooleanField(label=_("口罩等防护用品"), required=False)
    ventilation = forms.BooleanField(label=_("通风"), required=False)
    note = forms.CharField(
        label=_("问题及整改"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("有未达标项目时必填"),
    )


ACCEPTED_CHOICES = [("", "—"), ("yes", _("接受")), ("no", _("拒绝"))]


class FieldReportForm(CareForm):
    unit_kind = forms.ChoiceField(label=_("巡查力量"), choices=PatrolUnit.choices, widget=forms.RadioSelect)
    unit_name = forms.CharField(label=_("单位"), max_length=100)
    reporter_name = forms.CharField(label=_("报告人"), max_length=64)
    region = forms.ModelChoiceField(
        label=_("发现地所在区划"), queryset=Region.objects.none(), empty_label=None
    )
    place = forms.CharField(label=_("发现地点"), max_length=200)
    found_at = forms.DateTimeField(label=_("发现时间"), widget=DateTimeInput())
    description = forms.CharField(
        label=_("人员情况"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("性别、大致年龄、衣着、身体状况等"),
    )
    fever = forms.BooleanField(label=_("发热"), required=False)
    dry_cough = forms.BooleanField(label=_("干咳"), required=False)
    quarantine_site = forms.CharField(
        label=_("接收的集中隔离观察点"), max_length=100, required=False, help_text=_("有发热或干咳时填写")
    )
    station = forms.ModelChoiceField(
        label=_("引导前往的救助管理站"),
        queryset=Station.objects.none(),
        required=False,
        help_text=_("无发热、干咳时选择"),
    )
    accepted = forms.ChoiceField(label=_("本人是否接受救助"), choices=ACCEPTED_CHOICES, required=False)

    def __init__(self, *args, regions=None, stations=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions if regions is not None else Region.objects.none()
        self.fields["station"].queryset = stations if stations is not None else Station.objects.none()


class StrandedForm(CareForm):
    region = forms.ModelChoiceField(label=_("所在区划"), queryset=Region.objects.none(), empty_label=None)
    name = forms.CharField(
        label=_("姓名"), max_length=64, required=False, help_text=_("不愿或不能告知时留空")
    )
    id_number = forms.CharField(
        label=_("身份证号"), max_length=30, required=False, help_text=_("任何省份的居民身份证")
    )
    phone = forms.CharField(label=_("联系电话"), max_length=30, required=False)
    origin = forms.CharField(label=_("来自何地"), max_length=100, required=False)
    destination = forms.CharField(label=_("欲往何地"), max_length=100, required=False)
    situation = forms.CharField(
        label=_("困难情况"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("因交通管控滞留、住宿饮食困难、无工作无家庭支持等"),
    )
    vagrant = forms.BooleanField(label=_("流浪乞讨人员（转介救助管理站）"), required=False)

    def __init__(self, *args, regions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions if regions is not None else Region.objects.none()


class AidForm(CareForm):
    kind = forms.ChoiceField(label=_("帮扶项目"), choices=AidKind.choices)
    description = forms.CharField(
        label=_("内容"),
        max_length=100,
        required=False,
        help_text=_("如 某宾馆单间、盒饭、棉衣、重庆—武汉火车票"),
    )
    quantity = forms.CharField(label=_("数量"), max_length=12)
    unit = forms.CharField(label=_("单位"), max_length=8, help_text=_("晚、份、件、张"))
    amount = forms.CharField(label=_("折合金额（元）"), max_length=16, help_text=_("最多两位小数"))
    given_on = forms.DateField(label=_("发放日期"), widget=DateInput())


class StationReferralForm(CareForm):
    station = forms.ModelChoiceField(label=_("救助管理站"), queryset=Station.objects.none())
    note = forms.CharField(label=_("转介说明"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, stations=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["station"].queryset = stations if stations is not None else Station.objects.none()


ARRIVED_CHOICES = [("", "—"), ("yes", _("已到站")), ("no", _("未到站"))]


class ArrivalForm(CareForm):
    arrived = forms.ChoiceField(label=_("是否到站"), choices=ARRIVED_CHOICES)
    note = forms.CharField(label=_("说明"), max_length=500, required=False, help_text=_("未到站时必填"))
