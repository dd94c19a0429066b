"""The browser tests skip without chromium locally, but fail in CI (DOUDI_REQUIRE_BROWSER=1)."""

from browser.chromium import MISSING, when_missing


def test_present_chromium_is_used(tmp_path):
    binary = tmp_path / "chromium"
    binary.write_text("")
    assert when_missing(binary, {"DOUDI_REQUIRE_BROWSER": "1"}) is None


def test_missing_chromium_skips_locally(tmp_path):
    assert when_missing(tmp_path / "nope", {}) == ("skip", MISSING)
    assert when_missing(tmp_path / "nope", {"DOUDI_REQUIRE_BROWSER": "0"}) == ("skip", MISSING)


def test_missing_chromium_fails_when_required(tmp_path):
    action, reason = when_missing(tmp_path / "nope", {"DOUDI_REQUIRE_BROWSER": "1"})
    assert action == "fail" and reason.startswith(MISSING)
