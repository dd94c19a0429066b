"""Writes to the administrative tree."""

from django.core.exceptions import ValidationError

from doudi.regions.models import Region, RegionLevel


def create_region(*, code: str, name: str, parent: Region | None, is_local_code: bool = False) -> Region:
    """Add a node; its level follows its parent's and its path extends the parent's."""
    if parent is None:
        level, path = RegionLevel.MUNICIPALITY, f"{code}/"
    else:
        if parent.level >= RegionLevel.VILLAGE:
            raise ValidationError({"parent": f"{parent} is a village/community and cannot have children"})
        level, path = parent.level + 1, f"{parent.path}{code}/"
    return Region.objects.create(
        code=code, name=name, level=level, parent=parent, path=path, is_local_code=is_local_code
    )
