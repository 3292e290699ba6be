"""Synthetic service-matter catalogues for load tests and demonstrations.

`generate_synthetic_catalogue(count, seed)` returns `count` distinct matter dicts that validate
as `common.catalog.schema.Matter`. They are built deterministically from `random.Random(seed)`
with distributions close to the hand-written sample (common/catalog/data/sample_catalogue.json):
five integrated windows, 即办/承诺/一审一核/other case types, county/township/village handling,
1–8 materials, and about 85% of matters needing at most one trip — the share Hengdong
published in 2018.

Everything here is invented: names carry "（合成NNNN）" so they are never mistaken for real
matters. The county and township bodies use the same made-up organisation codes as the sample
catalogue, so the two can be loaded side by side; synthetic main-item serials start at 500 and
never collide with the sample's.
"""

from __future__ import annotations

import random

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

HOURS = "周一至周五 8:00-12:00, 14:30-17:30"
SERIAL_BASE = 500  # the sample catalogue uses serials below 100
_LEVEL_CODE = {"county": "4", "township": "5", "village": "6"}  # GB/T 39046 exercise level

# key: (department code in basic codes, implementing body, org-code body (8), phone,
#       usual window, topics)
_DEPARTMENTS = {
    "fg": (
        "01",
        "衡东县发展和改革局",
        "00681321",
        "0734-5221306",
        "investment",
        ("企业投资项目", "政府投资项目", "节能审查", "价格认定", "粮食收购"),
    ),
    "jy": (
        "02",
        "衡东县教育局",
        "00681347",
        "0734-5222145",
        "social",
        ("教师资格", "民办学校", "学生资助", "学籍", "校外培训机构"),
    ),
    "ga": (
        "03",
        "衡东县公安局",
        "00681355",
        "0734-5223110",
        "convenience",
        ("户口", "居民身份证", "居住证", "机动车", "特种行业", "出入境证件"),
    ),
    "mz": (
        "04",
        "衡东县民政局",
        "00681363",
        "0734-5226203",
        "social",
        ("最低生活保障", "特困人员供养", "临时救助", "婚姻", "社会组织", "养老服务", "殡葬"),
    ),
    "sf": (
        "05",
        "衡东县司法局",
        "00681371",
        "0734-5226148",
        "social",
        ("法律援助", "人民调解", "基层法律服务", "公证"),
    ),
    "rs": (
        "07",
        "衡东县人力资源和社会保障局",
        "00681398",
        "0734-5228315",
        "social",
        ("养老保险", "失业保险", "工伤保险", "就业创业", "劳动关系", "职业技能"),
    ),
    "zr": (
        "08",
        "衡东县自然资源局",
        "MB1C5742",
        "0734-5229076",
        "real_estate",
        ("不动产", "建设用地", "规划", "测绘", "地质灾害防治", "矿产资源"),
    ),
    "st": (
        "09",
        "衡阳市生态环境局衡东分局",
        "MB1C6020",
        "0734-5225369",
        "investment",
        ("建设项目环境影响", "排污", "危险废物", "辐射安全"),
    ),
    "zj": (
        "10",
        "衡东县住房和城乡建设局",
        "00681400",
        "0734-5224471",
        "investment",
        ("建筑工程", "商品房", "燃气", "排水", "住房保障", "物业"),
    ),
    "jt": (
        "11",
        "衡东县交通运输局",
        "00681419",
        "0734-5227265",
        "business",
        ("道路运输", "公路", "出租汽车", "水路运输", "驾驶员培训"),
    ),
    "sl": (
        "12",
        "衡东县水利局",
        "00681427",
        "0734-5222783",
        "investment",
        ("取水", "河道", "水土保持", "农村供水", "水库"),
    ),
    "ny": (
        "13",
        "衡东县农业农村局",
        "MB1C5806",
        "0734-5226635",
        "business",
        ("农药", "种子", "动物防疫", "渔业", "农业机械", "农村土地承包", "肥料"),
    ),
    "wl": (
        "15",
        "衡东县文化旅游广电体育局",
        "MB1C5881",
        "0734-5228027",
        "business",
        ("娱乐场所", "网吧", "营业性演出", "文物保护", "体育经营", "广播电视"),
    ),
    "wj": (
        "16",
        "衡东县卫生健康局",
        "MB1C5873",
        "0734-5223351",
        "social",
        ("医疗机构", "医师", "护士", "公共场所卫生", "生育服务", "饮用水卫生", "母婴保健"),
    ),
    "tj": (
        "17",
        "衡东县退役军人事务局",
        "MB1C6098",
        "0734-5221792",
        "social",
        ("优抚", "退役士兵安置", "烈士褒扬", "军休服务"),
    ),
    "yj": (
        "18",
        "衡东县应急管理局",
        "MB1C6101",
        "0734-5224850",
        "business",
        ("烟花爆竹", "危险化学品", "应急预案", "安全生产"),
    ),
    "sc": (
        "19",
        "衡东县市场监督管理局",
        "MB1C5953",
        "0734-5225315",
        "business",
        ("食品经营", "企业", "个体工商户", "药品", "医疗器械", "特种设备", "计量", "广告"),
    ),
    "yb": (
        "20",
        "衡东县医疗保障局",
        "MB1C6128",
        "0734-5229560",
        "social",
        ("医疗保险", "医疗救助", "异地就医", "门诊慢特病", "生育保险"),
    ),
    "ly": (
        "21",
        "衡东县林业局",
        "00681443",
        "0734-5222419",
        "business",
        ("林木采伐", "林地", "野生动植物", "林草种苗", "森林防火"),
    ),
    "sw": (
        "22",
        "国家税务总局衡东县税务局",
        "MB1C4H7Q",
        "0734-5227366",
        "business",
        ("发票", "纳税申报", "税务登记", "社会保险费", "契税"),
    ),
    "cl": (
        "23",
        "衡东县残疾人联合会",
        "00681486",
        "0734-5225580",
        "social",
        ("残疾人证", "残疾人康复", "残疾人就业", "残疾人托养"),
    ),
    "cg": (
        "24",
        "衡东县城市管理和综合执法局",
        "MB1C6187",
        "0734-5228610",
        "convenience",
        ("城市道路", "户外广告", "建筑垃圾", "市容环境卫生", "园林绿化"),
    ),
}
# Registering authority + kind for the county bodies: 11 organs, 13 the disabled persons'
# federation (a mass organisation under the staffing office).
_BODY_KIND = {"cl": "13"}

_TOWNSHIPS = (
    ("洣水镇", "00681701"),
    ("石湾镇", "00681728"),
    ("新塘镇", "00681736"),
    ("大浦镇", "00681744"),
    ("吴集镇", "00681752"),
    ("甘溪镇", "00681760"),
    ("杨林镇", "00681779"),
    ("草市镇", "00681787"),
    ("杨桥镇", "00681795"),
    ("霞流镇", "00681808"),
    ("荣桓镇", "00681816"),
    ("高湖镇", "00681824"),
    ("白莲镇", "00681832"),
    ("三樟镇", "00681840"),
    ("蓬源镇", "00681859"),
    ("南湾乡", "00681867"),
    ("石滩乡", "00681875"),
)
_VILLAGE_HEADS = "新石长清光东龙金高永"
_VILLAGE_TAILS = "民桥岭水明湖泉塘田山"

_ACTIONS = {
    "01": ("许可", "审批", "核准", "许可（变更）", "许可（延续）", "许可（注销）"),
    "02": ("违法行为处罚",),
    "04": ("费用征收",),
    "05": ("补助发放", "津贴申领", "救助金给付"),
    "06": ("监督检查", "现场核查"),
    "07": ("登记", "认定", "确认", "证明核发"),
    "08": ("表彰奖励",),
    "09": ("争议裁决",),
    "10": ("备案", "年度报告", "信息变更备案"),
    "20": ("服务申请", "资格认证", "信息查询", "业务咨询办理", "代办服务"),
}
_TYPE_WEIGHTS = {
    "01": 40,
    "07": 12,
    "05": 10,
    "10": 9,
    "20": 24,
    "06": 1,
    "02": 1,
    "04": 1,
    "08": 1,
    "09": 1,
}
_WINDOWS = ("investment", "real_estate", "business", "social", "convenience")
_DESKS = {
    "business": ("1", 1, 12),
    "convenience": ("1", 13, 6),
    "social": ("2", 19, 12),
    "real_estate": ("3", 31, 10),
    "investment": ("4", 41, 8),
}

# (name, issuer, originals, copies, licence type)
_COMMON_MATERIALS = (
    ("申请人居民身份证", "公安机关", 1, 1, "JMSFZ"),
    ("居民户口簿", "公安机关", 1, 1, "HKB"),
    ("营业执照", "市场监督管理部门", 1, 1, "YYZZ"),
    ("个体工商户营业执照", "市场监督管理部门", 1, 0, "GTGSHYYZZ"),
    ("不动产权证书", "不动产登记机构", 1, 0, "BDCQZS"),
    ("结婚证", "婚姻登记机关", 1, 1, "JHZ"),
    ("中华人民共和国残疾人证", "残疾人联合会", 1, 1, "CJRZ"),
    ("社会保障卡", "人力资源和社会保障部门", 1, 0, "SBK"),
    ("授权委托书及受托人身份证明", "申请人自备", 1, 1, ""),
    ("经营场所使用证明", "申请人自备", 0, 1, ""),
    ("近期一寸免冠证件照片", "申请人自备", 2, 0, ""),
    ("相关情况说明", "申请人自备", 1, 0, ""),
    ("技术人员资格证明", "发证机关", 0, 1, ""),
    ("现场平面布局图", "申请人自备", 1, 0, ""),
    ("管理制度文本", "申请人自备", 1, 0, ""),
    ("检测或检验报告", "检验检测机构", 1, 0, ""),
    ("银行账户信息", "金融机构", 0, 1, ""),
)
_FEES = (
    ("工本费", "10"),
    ("工本费", "20"),
    ("登记费", "80"),
    ("登记费", "550"),
    ("证书工本费", "5"),
    ("检验费", "150.00"),
)


def uscc_with_check(first17: str) -> str:
    """Append the GB 32100-2015 check character to the first 17 characters of a USCC."""
    first17 = first17.upper()
    if len(first17) != 17 or any(c not in USCC_CHARSET for c in first17):
        raise ValueError(f"统一社会信用代码前17位应为17个有效字符：{first17!r}")
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=False))
    return first17 + USCC_CHARSET[(31 - total % 31) % 31]


def _organisation_code(body8: str) -> str:
    """Append the GB 11714 check character so the embedded organisation code is valid too."""
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in body8]
    check = 11 - sum(v * w for v, w in zip(values, (3, 7, 9, 10, 5, 8, 4, 2), strict=False)) % 11
    return body8 + ("X" if check == 10 else "0" if check == 11 else str(check))


def _body_code(kind2: str, body8: str) -> str:
    return uscc_with_check(kind2 + "430424" + _organisation_code(body8))


def _bodies() -> tuple[dict, list, list]:
    county = {
        key: {"name": d[1], "code": _body_code(_BODY_KIND.get(key, "11"), d[2]), "phone": d[3]}
        for key, d in _DEPARTMENTS.items()
    }
    townships = [
        {
            "town": t,
            "name": f"衡东县{t}人民政府",
            "code": _body_code("11", b8),
            "phone": f"0734-53{i:02d}{(i * 37) % 1000:03d}",
        }
        for i, (t, b8) in enumerate(_TOWNSHIPS)
    ]
    villages = []
    for i in range(40):
        town = _TOWNSHIPS[i % len(_TOWNSHIPS)][0]
        vname = _VILLAGE_HEADS[i % 10] + _VILLAGE_TAILS[(i * 3 + i // 10 + 1) % 10] + "村"
        collective = i % 4 == 3  # every fourth is a village collective economic organisation
        name = f"衡东县{town}{vname}" + ("股份经济合作社" if collective else "村民委员会")
        kind2, body8 = ("N2", f"MFC{i:05d}") if collective else ("54", f"MEC{i:05d}")
        villages.append(
            {
                "town": town,
                "village": vname,
                "name": name,
                "code": _body_code(kind2, body8),
                "phone": townships[i % len(_TOWNSHIPS)]["phone"],
            }
        )
    return county, townships, villages


def _pick(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _materials(rng: random.Random, topic: str, matter_type: str, issued: list[str]) -> list[dict]:
    count = rng.choices(range(1, 9), weights=(6, 14, 22, 22, 16, 10, 6, 4))[0]
    chosen = [
        {
            "name": f"{topic}{'申请表' if matter_type != '10' else '备案表'}",
            "issuer": "申请人自备（窗口提供格式文本）",
            "originals": 1,
            "copies": 0,
            "mandatory": True,
            "licence_type": "",
        }
    ]
    for name, issuer, originals, copies, lt in rng.sample(_COMMON_MATERIALS, count - 1):
        chosen.append(
            {
                "name": name,
                "issuer": issuer,
                "originals": originals,
                "copies": copies,
                "mandatory": rng.random() < 0.85,
                "licence_type": lt,
            }
        )
    if issued and rng.random() < 0.08 and len(chosen) < 8:
        # a licence issued by an earlier synthetic matter stands in for a material (无证明)
        chosen.append(
            {
                "name": "前置许可证件",
                "issuer": "衡东县有关部门",
                "originals": 1,
                "copies": 0,
                "mandatory": True,
                "licence_type": rng.choice(issued),
            }
        )
    return chosen


def _limits(rng: random.Random, case: str, matter_type: str) -> tuple[int, int]:
    if matter_type == "01":
        statutory = rng.choice((20, 20, 20, 15, 30, 45, 10, 60))
    else:
        statutory = rng.choice((0, 5, 10, 15, 20, 20, 30, 60))
    if case == "1":
        return statutory, 0
    statutory = max(statutory, 5)
    return statutory, rng.randint(1, max(1, statutory * 2 // 3))


def _delivery(rng: random.Random, case: str) -> str:
    if case == "1":
        return _pick(rng, {"on_the_spot": 55, "zero_visit": 35, "appointment_visit": 10})
    return _pick(
        rng,
        {
            "window_courier": 40,
            "online_precheck": 30,
            "zero_visit": 15,
            "appointment_visit": 10,
            "on_the_spot": 5,
        },
    )


def generate_synthetic_catalogue(count: int = 910, seed: int = 0) -> list[dict]:
    """Return `count` distinct, valid matter dicts, the same for the same seed."""
    if count < 0:
        raise ValueError("count must not be negative")
    rng = random.Random(seed)
    county, townships, villages = _bodies()
    dept_keys = list(_DEPARTMENTS)
    dept_weights = [len(_DEPARTMENTS[k][5]) for k in dept_keys]
    per_dept: dict[str, int] = {}
    issued: list[str] = []
    matters = []
    for i in range(count):
        key = rng.choices(dept_keys, weights=dept_weights)[0]
        dcode, _, _, _, usual_window, topics = _DEPARTMENTS[key]
        k = per_dept.get(key, 0)
        per_dept[key] = k + 1
        matter_type = _pick(rng, _TYPE_WEIGHTS)
        region = "43" if rng.random() < 0.1 else "00"
        basic = f"{region}{matter_type}{dcode}{SERIAL_BASE + k % 500:03d}{k // 500:03d}"
        level = _pick(rng, {"county": 78, "township": 16, "village": 6})
        case = _pick(rng, {"1": 30, "2": 55, "2A": 10, "9": 5})
        if level == "village":
            case = rng.choice(("1", "1", "2"))
        delivery = _delivery(rng, case)
        visits = 0 if delivery in ("zero_visit", "appointment_visit") else 1
        if rng.random() < 0.14:  # not (yet) at most one trip
            visits = 2 if rng.random() < 0.85 else 3
            if delivery in ("zero_visit", "appointment_visit"):
                delivery = "online_precheck"
        statutory, promised = _limits(rng, case, matter_type)
        window = usual_window if rng.random() < 0.75 else rng.choice(_WINDOWS)
        topic = rng.choice(topics)
        action = rng.choice(_ACTIONS[matter_type])

        if level == "county":
            body = county[key]
            floor, first, span = _DESKS[window]
            place = f"衡东县政务服务中心{floor}楼{first + rng.randrange(span)}号窗口"
        elif level == "township":
            body = rng.choice(townships)
            place = f"衡东县{body['town']}便民服务中心{1 + rng.randrange(4)}号窗口"
        else:
            body = rng.choice(villages)
            place = f"衡东县{body['town']}{body['village']}便民服务代办点"
        departments = [body["name"]]
        if level != "village" and rng.random() < 0.06:
            others = rng.sample(
                [d for d in dept_keys if county[d]["name"] != body["name"]], rng.randint(1, 3)
            )
            departments += [county[d]["name"] for d in others]

        licence_type = ""
        result = ""
        if matter_type in ("01", "07"):
            result = f"{topic}{'许可证' if matter_type == '01' else '登记证明'}"
            if rng.random() < 0.25:
                licence_type = f"HD{dcode}{SERIAL_BASE + k % 500:03d}{k // 500:03d}"
        materials = _materials(rng, topic, matter_type, issued)
        if licence_type:
            issued.append(licence_type)
        fees = []
        if rng.random() < 0.06:
            item, amount = rng.choice(_FEES)
            fees.append({"item": item, "amount": amount, "basis": "示例收费依据（合成数据）"})
        matters.append(
            {
                "basic_code": basic,
                "implementation_code": body["code"] + _LEVEL_CODE[level] + basic,
                "name": f"{topic}{action}（合成{i + 1:04d}）",
                "matter_type": matter_type,
                "exercise_level": _LEVEL_CODE[level],
                "service_objects": sorted(rng.sample("123456", rng.choice((1, 1, 2, 3)))),
                "case_type": case,
                "handling_level": level,
                "delivery_method": delivery,
                "window": window,
                "implementing_body": body["name"],
                "implementing_body_code": body["code"],
                "lead_department": body["name"],
                "departments": departments,
                "legal_basis": "合成示例：依据有关法律、法规和规范性文件（非真实依据）",
                "statutory_limit_days": statutory,
                "promised_limit_days": promised,
                "conditions": f"符合{topic}管理规定的申请人（合成示例）。",
                "procedure": "申请→受理→审查→决定→送达",
                "materials": materials,
                "fees": fees,
                "result_name": result,
                "result_licence_type": licence_type,
                "place": place,
                "hours": HOURS,
                "consult_phone": body["phone"],
                "complaint_phone": "12345",
                "online": delivery in ("zero_visit", "online_precheck"),
                "courier": delivery == "window_courier",
                "appointment": delivery == "appointment_visit",
                "commitment_allowed": matter_type == "01" and rng.random() < 0.12,
                "required_visits": visits,
            }
        )
    return matters
