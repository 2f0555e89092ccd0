"""Configuration from the environment, and resident ID checks."""
from __future__ import annotations

import datetime as dt

import pytest
from flask_babel import force_locale

from app.services.ids import IdNumberError, make_resident_id, mask_id, parse_resident_id


def test_secret_key_required_outside_development(monkeypatch):
    from config import Config, load_config

    monkeypatch.delenv("SECRET_KEY", raising=False)

    class Production(Config):
        RUXUE_ENV = "production"
        ALLOW_LOG_SMS = True

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_config(Production)
    monkeypatch.setenv("SECRET_KEY", "from-the-environment-" + "x" * 40)
    assert load_config(Production)["SECRET_KEY"].startswith("from-the-environment")


def test_development_key_is_generated_once(monkeypatch, tmp_path):
    import config

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)

    class Development(config.Config):
        RUXUE_ENV = "development"

    first = config.load_config(Development)["SECRET_KEY"]
    assert len(first) == 64 and first == config.load_config(Development)["SECRET_KEY"]
    assert (tmp_path / "secret_key").read_text().strip() == first


def test_plain_postgres_url_uses_psycopg3():
    from config import database_url

    assert database_url("postgresql://postgres@127.0.0.1:5432/test") == "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_mask():
    assert mask_id("430281201606257215") == "430281********7215"
    assert mask_id("") == ""


def test_valid_id_gives_birth_date_and_sex():
    parsed = parse_resident_id("430281201606257215")
    assert parsed.birth_date == dt.date(2016, 6, 25) and parsed.sex == "M"


@pytest.mark.parametrize(
    "number,message",
    [
        ("43028120160625721", "居民身份证号码应为18位，您输入的是17位。"),
        ("43028120160625721A", "只能输入数字，X 只能出现在最后一位。"),
        ("990281201606257215", "前6位地区码不是有效的行政区划代码。"),
        ("430281201602307215", "第7至14位不是有效的出生日期。"),
        ("430281201606257216", "最后一位校验码不符，请逐位核对。"),
    ],
)
def test_wrong_id_says_which_part(app, number, message):
    with app.app_context(), force_locale("zh"):
        with pytest.raises(IdNumberError) as caught:
            parse_resident_id(number)
        assert str(caught.value.message) == message


def test_made_ids_are_valid():
    for seq in range(50):
        number = make_resident_id("360123", dt.date(2020, 1, 1) + dt.timedelta(days=seq * 7), seq)
        assert parse_resident_id(number).area_code == "360123"
