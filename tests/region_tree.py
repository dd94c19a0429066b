"""The small region tree every test world stands on, built the same way by the `regions` fixture and by
the payroll kill test's subprocess: 市 → two districts → a township each → a village each (plus a
second village in A)."""


def build_regions():
    from doudi.regions.services import create_region

    city = create_region(code="500000", name="重庆市", parent=None)
    a = create_region(code="500101", name="万州区", parent=city)
    b = create_region(code="500102", name="涪陵区", parent=city)
    a_t = create_region(code="500101001", name="高笋塘街道", parent=a)
    b_t = create_region(code="500102001", name="敦仁街道", parent=b)
    a_v = create_region(code="500101001001", name="高笋塘社区", parent=a_t)
    a_v2 = create_region(code="500101001002", name="太白社区", parent=a_t)
    b_v = create_region(code="500102001001", name="五一路社区", parent=b_t)
    return type("Tree", (), dict(city=city, a=a, b=b, a_t=a_t, b_t=b_t, a_v=a_v, a_v2=a_v2, b_v=b_v))
