"""The terminal.toml and where it and the data directory are found.

A technician fixes a config file from the error alone, so every error is checked for the file, the
section or key, and what was expected; and a plain-http gateway on the network is refused, because
it would carry signed payment requests in the clear. The files are loaded here, in this process; what
``pos-terminal status`` answers to a hostile one is e2e/test_config_cli.py's.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from configtext import VALID, render, write

from pos_app.config import (
    ENV_CONFIG,
    ENV_DATA_DIR,
    ConfigError,
    find_config_file,
    find_data_dir,
    load_config,
    parse_scanners,
)


def error_of(file: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(file)
    message = str(caught.value)
    assert str(file) in message, "every config error names the file"
    return message


# --- a good file -----------------------------------------------------------------------------------

def test_a_complete_file_loads(tmp_path):
    file = write(tmp_path)
    config = load_config(file)
    assert config.path == file
    assert config.gateway.url == "https://open-sea-global.alipay.com"
    assert config.gateway.client_id == "SANDBOX_5YEZ1J2YJ5Y704017"
    assert config.gateway.sandbox
    assert config.gateway.connect_timeout == 3.0 and config.gateway.read_timeout == 7.5
    assert config.merchant.mcc == "5411" and config.merchant.currency == "SGD"
    assert (config.notifications.listen_host, config.notifications.listen_port) == ("0.0.0.0", 8081)
    assert config.notifications.public_url == "https://pos.example.com/notify"


def test_relative_key_paths_resolve_against_the_file_folder(tmp_path, monkeypatch):
    """The terminal may be started from any folder; the keys stay next to the config."""
    folder = tmp_path / "etc"
    folder.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(write(folder))
    assert config.gateway.merchant_private_key == folder / "keys" / "merchant_private.pem"
    assert config.gateway.gateway_public_key == Path("/etc/pos-terminal/gateway_public.pem")


def test_a_relative_config_path_is_made_absolute(tmp_path, monkeypatch):
    write(tmp_path)
    monkeypatch.chdir(tmp_path)
    config = load_config("terminal.toml")
    assert config.path == tmp_path / "terminal.toml"
    assert config.gateway.merchant_private_key == tmp_path / "keys" / "merchant_private.pem"


def test_settlement_currency_defaults_to_currency(tmp_path):
    assert load_config(write(tmp_path)).merchant.settlement_currency == "SGD"
    config = load_config(write(tmp_path, merchant={"settlement_currency": '"usd"'}))
    assert config.merchant.settlement_currency == "USD"


def test_timeouts_default_to_the_sdk_five_seconds(tmp_path):
    gateway = {key: value for key, value in VALID["gateway"].items() if not key.endswith("_timeout")}
    config = load_config(write(tmp_path, render({**VALID, "gateway": gateway})))
    assert config.gateway.connect_timeout == 5.0 and config.gateway.read_timeout == 5.0


def test_lower_case_currency_is_upper_cased(tmp_path):
    assert load_config(write(tmp_path, merchant={"currency": '"jpy"'})).merchant.currency == "JPY"


def test_trailing_slash_of_the_gateway_url_is_dropped(tmp_path):
    config = load_config(write(tmp_path, gateway={"url": '"https://gw.example.com/"'}))
    assert config.gateway.url == "https://gw.example.com"


# --- structure errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("section", ["gateway", "merchant", "notifications"])
def test_a_missing_section_is_named(tmp_path, section):
    message = error_of(write(tmp_path, drop=(section, None)))
    assert f"[{section}]" in message and "table" in message


@pytest.mark.parametrize("section, key, expected", [
    ("gateway", "url", "https://"),
    ("gateway", "client_id", "client id"),
    ("gateway", "merchant_private_key", "file path"),
    ("merchant", "mcc", "4-digit"),
    ("merchant", "currency", "ISO 4217"),
    ("notifications", "listen", "host:port"),
    ("notifications", "public_url", "https://"),
])
def test_a_missing_key_is_named_with_what_was_expected(tmp_path, section, key, expected):
    message = error_of(write(tmp_path, drop=(section, key)))
    assert f"[{section}] {key}" in message
    assert expected in message
    assert "got nothing" in message


@pytest.mark.parametrize("section, key, literal, expected", [
    ("gateway", "url", "443", "https://"),
    ("gateway", "client_id", "12345", "client id"),
    ("gateway", "connect_timeout", '"5"', "number of seconds"),
    ("gateway", "read_timeout", "true", "number of seconds"),
    ("merchant", "mcc", "5411", "4-digit"),
    ("merchant", "name", '["Corner", "Shop"]', "name"),
    ("merchant", "terminal_id", '""', "terminal"),
    ("merchant", "terminal_id", '"   "', "terminal"),
    ("notifications", "listen", "8081", "host:port"),
])
def test_a_wrong_type_is_named_with_what_was_expected(tmp_path, section, key, literal, expected):
    message = error_of(write(tmp_path, **{section: {key: literal}}))
    assert f"[{section}] {key}" in message
    assert expected in message


def test_a_section_that_is_not_a_table(tmp_path):
    text = 'merchant = "Corner Shop"\n' + render({k: v for k, v in VALID.items() if k != "merchant"})
    message = error_of(write(tmp_path, text))
    assert "[merchant]" in message and "table" in message and "'Corner Shop'" in message


def test_an_unknown_key_is_named_and_the_hint_lists_the_valid_keys(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, gateway={"timeout": "5"}))
    message = str(caught.value)
    assert str(tmp_path / "terminal.toml") in message
    assert "[gateway]" in message and "'timeout'" in message
    for key in VALID["gateway"]:
        assert key in caught.value.hint


def test_an_unknown_section_is_named(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, drawer={"device": '"/dev/usb/lp0"'}))
    assert "[drawer]" in str(caught.value) and str(tmp_path) in str(caught.value)
    assert "[gateway]" in caught.value.hint


# --- file errors -----------------------------------------------------------------------------------

def test_bad_toml_gives_the_line(tmp_path):
    text = render(VALID).replace('name = "Corner Shop"', "name = Corner Shop")
    message = error_of(write(tmp_path, text))
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith("name = "))
    assert "not valid TOML" in message
    assert f"line {line}" in message


def test_a_non_utf8_file_is_refused(tmp_path):
    message = error_of(write(tmp_path, render(VALID).encode().replace(b"Corner Shop", b"Caf\xe9")))
    assert "not UTF-8" in message


def test_a_missing_file(tmp_path):
    file = tmp_path / "nowhere" / "terminal.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(file)
    assert str(file) in str(caught.value) and "not found" in str(caught.value)
    assert ENV_CONFIG in caught.value.hint


def test_a_directory_given_as_the_config(tmp_path):
    message = error_of(tmp_path)
    assert "directory" in message


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root reads any file: permissions are not enforced")
def test_an_unreadable_file(tmp_path):
    file = write(tmp_path)
    file.chmod(0o000)
    try:
        message = error_of(file)
    finally:
        file.chmod(0o600)
    assert "may not read" in message


def test_a_huge_file_is_refused_unread(tmp_path):
    file = tmp_path / "terminal.toml"
    with file.open("wb") as f:
        f.truncate(2 * 1024 * 1024)
    assert "too big" in error_of(file)


def test_an_empty_file_asks_for_the_first_section(tmp_path):
    assert "[gateway]" in error_of(write(tmp_path, ""))


# --- URLs ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "http://gw.example.com",
    "http://192.168.1.20:8080",
    "http://10.0.0.1",
    "http://0.0.0.0:8080",
    "http://127.0.0.1.nip.io",
    "http://localhost.example.com",
])
def test_plain_http_to_a_network_host_is_refused(tmp_path, url):
    message = error_of(write(tmp_path, gateway={"url": f'"{url}"'}))
    assert "[gateway] url" in message and "https://" in message and url in message


@pytest.mark.parametrize("url", [
    "http://127.0.0.1",
    "http://127.0.0.1:8080/",
    "http://[::1]:8080",
    "http://localhost",
    "http://LOCALHOST:9000",
    "https://open-sea-global.alipay.com",
    "https://10.0.0.5:8443",
    "https://[2001:db8::1]",
])
def test_loopback_http_and_https_anywhere_are_allowed(tmp_path, url):
    assert load_config(write(tmp_path, gateway={"url": f'"{url}"'})).gateway.url == url.rstrip("/")


@pytest.mark.parametrize("url", [
    "ftp://gw.example.com",
    "gw.example.com",
    "https://",
    "https://gw.example.com/?debug=1",
    "https://gw.example.com/#x",
    "https://gw.example.com:99999",
    "https://gw.example.com:port",
])
def test_malformed_urls_are_refused(tmp_path, url):
    assert "[gateway] url" in error_of(write(tmp_path, gateway={"url": f'"{url}"'}))


def test_the_notification_url_follows_the_same_rule(tmp_path):
    message = error_of(write(tmp_path, notifications={"public_url": '"http://pos.example.com/notify"'}))
    assert "[notifications] public_url" in message


# --- values ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["mcc", "store_mcc"])
@pytest.mark.parametrize("literal", ['"541"', '"54111"', '"54a1"', '""', '"٥٤١١"'])
def test_a_bad_mcc_is_refused(tmp_path, key, literal):
    """Four ASCII digits: the gateway would reject anything else, too late, at the first sale."""
    message = error_of(write(tmp_path, merchant={key: literal}))
    assert f"[merchant] {key}" in message and "4-digit" in message


@pytest.mark.parametrize("key", ["currency", "settlement_currency"])
@pytest.mark.parametrize("literal", ['"XYZ"', '"US"', '"dollars"', '"$"', "840"])
def test_a_bad_currency_is_refused(tmp_path, key, literal):
    message = error_of(write(tmp_path, merchant={key: literal}))
    assert f"[merchant] {key}" in message and "ISO 4217" in message


@pytest.mark.parametrize("literal", [
    '"8081"', '":8081"', '"0.0.0.0:"', '"0.0.0.0:0"', '"0.0.0.0:65536"', '"0.0.0.0:http"',
    '"0.0.0.0:-1"', '"0.0.0.0:²"', '"0.0.0.0:٨٠٨١"',
])
def test_a_bad_listen_address_is_refused(tmp_path, literal):
    message = error_of(write(tmp_path, notifications={"listen": literal}))
    assert "[notifications] listen" in message and "host:port" in message


@pytest.mark.parametrize("literal, host, port", [
    ('"127.0.0.1:8081"', "127.0.0.1", 8081),
    ('"[::1]:65535"', "::1", 65535),
    ('"pos.local:1"', "pos.local", 1),
])
def test_good_listen_addresses(tmp_path, literal, host, port):
    n = load_config(write(tmp_path, notifications={"listen": literal})).notifications
    assert (n.listen_host, n.listen_port) == (host, port)


@pytest.mark.parametrize("key", ["connect_timeout", "read_timeout"])
@pytest.mark.parametrize("literal", ["0", "-1", "120.5", "1000", "nan", "inf"])
def test_timeouts_out_of_range_are_refused(tmp_path, key, literal):
    message = error_of(write(tmp_path, gateway={key: literal}))
    assert f"[gateway] {key}" in message and "at most 120" in message


@pytest.mark.parametrize("literal", ["0.5", "120"])
def test_timeouts_at_the_edges_are_allowed(tmp_path, literal):
    assert load_config(write(tmp_path, gateway={"read_timeout": literal})).gateway.read_timeout == float(literal)


def test_a_client_id_with_spaces_or_too_long_is_refused(tmp_path):
    assert "[gateway] client_id" in error_of(write(tmp_path, gateway={"client_id": '"SANDBOX 1"'}))
    assert "[gateway] client_id" in error_of(write(tmp_path, gateway={"client_id": f'"{"X" * 65}"'}))


def test_an_over_long_id_is_refused(tmp_path):
    assert "[merchant] store_id" in error_of(write(tmp_path, merchant={"store_id": f'"{"S" * 65}"'}))


# --- where the files are ---------------------------------------------------------------------------

@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    """No setting from the machine running the tests leaks in: HOME and XDG point into tmp_path."""
    for name in (ENV_CONFIG, ENV_DATA_DIR, "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return monkeypatch


def xdg_config_file(base: Path) -> Path:
    file = base / "pos-terminal" / "terminal.toml"
    file.parent.mkdir(parents=True)
    file.write_text(render(VALID))
    return file


def test_config_file_cli_beats_env_beats_xdg(tmp_path, clean_env):
    xdg = xdg_config_file(tmp_path / "xdg")
    clean_env.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert find_config_file(None) == xdg
    clean_env.setenv(ENV_CONFIG, str(tmp_path / "env.toml"))
    assert find_config_file(None) == tmp_path / "env.toml"
    assert find_config_file(str(tmp_path / "cli.toml")) == tmp_path / "cli.toml"


def test_the_cli_and_env_values_are_taken_even_if_the_file_is_missing(tmp_path, clean_env):
    """A named file that is missing is an error for load_config to report, not a silent sandbox."""
    clean_env.setenv(ENV_CONFIG, str(tmp_path / "missing-env.toml"))
    assert find_config_file(None) == tmp_path / "missing-env.toml"
    assert find_config_file(str(tmp_path / "missing-cli.toml")) == tmp_path / "missing-cli.toml"


def test_xdg_config_is_used_only_if_it_exists(tmp_path, clean_env):
    clean_env.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert find_config_file(None) is None
    (tmp_path / "xdg" / "pos-terminal" / "terminal.toml").mkdir(parents=True)
    assert find_config_file(None) is None, "a directory with the file's name is not the file"


def test_without_xdg_config_home_the_config_is_under_home(tmp_path, clean_env):
    assert find_config_file(None) is None
    file = xdg_config_file(tmp_path / "home" / ".config")
    assert find_config_file(None) == file


def test_an_empty_env_var_counts_as_unset(tmp_path, clean_env):
    clean_env.setenv(ENV_CONFIG, "")
    clean_env.setenv(ENV_DATA_DIR, "")
    assert find_config_file(None) is None
    assert find_data_dir(None) == tmp_path / "home" / ".local" / "share" / "pos-terminal"


def test_config_file_expands_the_home_folder(tmp_path, clean_env):
    assert find_config_file("~/t.toml") == tmp_path / "home" / "t.toml"


def test_data_dir_cli_beats_env_beats_xdg(tmp_path, clean_env):
    clean_env.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    assert find_data_dir(None) == tmp_path / "xdg-data" / "pos-terminal"
    clean_env.setenv(ENV_DATA_DIR, str(tmp_path / "env-data"))
    assert find_data_dir(None) == tmp_path / "env-data"
    assert find_data_dir(str(tmp_path / "cli-data")) == tmp_path / "cli-data"


def test_data_dir_is_absolute(tmp_path, clean_env):
    clean_env.chdir(tmp_path)
    assert find_data_dir("data") == tmp_path / "data"
    clean_env.setenv(ENV_DATA_DIR, "env-data")
    assert find_data_dir(None) == tmp_path / "env-data"


def test_without_xdg_data_home_the_data_is_under_home(tmp_path, clean_env):
    assert find_data_dir(None) == tmp_path / "home" / ".local" / "share" / "pos-terminal"


def test_relative_xdg_directories_are_ignored(monkeypatch, tmp_path):
    """The XDG spec: a relative base directory is invalid and must be ignored."""
    from pathlib import Path

    from pos_app.config import find_data_dir
    monkeypatch.delenv("POS_TERMINAL_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", "relative/dir")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert find_data_dir() == Path(tmp_path) / ".local" / "share" / "pos-terminal"


# -- [scanners] ---------------------------------------------------------------------------------------

def test_scanners_section_parses_hid_and_serial_entries(tmp_path):
    got = parse_scanners(tmp_path / "t.toml", {
        "layout": "fr", "gap_ms": 60,
        "hid": [{"path": "/dev/input/by-id/usb-X-event-kbd", "role": "shared", "layout": "de"}],
        "serial": [{"port": "/dev/ttyACM0", "baud": 115200, "suffix": "crlf", "ack": True, "parity": "even"}]})
    assert got.layout == "fr" and got.gap_ms == 60
    assert got.hid[0].role == "shared" and got.hid[0].layout == "de"
    assert (got.serial[0].baud, got.serial[0].parity, got.serial[0].suffix, got.serial[0].ack) == (
        115200, "E", "crlf", True)


@pytest.mark.parametrize("table, message", [
    ({"layout": "uk"}, "[scanners] layout: expected one of 'us', 'de', 'fr'"),
    ({"hid": [{"path": "event3"}]}, "[scanners.hid #1] path: expected an absolute path"),
    ({"hid": [{"path": "/dev/input/event3", "role": "mouse"}]}, "[scanners.hid #1] role: expected one of"),
    ({"hid": [{"path": "/dev/input/event3\u0000x"}]}, "no control characters"),
    ({"hid": {"path": "/dev/input/event3"}}, "[scanners] hid: expected [[scanners.hid]] tables"),
    ({"serial": [{"port": "/dev/ttyACM0", "baud": 9600.0}]}, "[scanners.serial #1] baud: expected one of"),
    ({"serial": [{"port": "/dev/ttyACM0", "baud": 9601}]}, "[scanners.serial #1] baud"),
    ({"serial": [{"port": "ttyACM0"}]}, "[scanners.serial #1] port: expected an absolute path"),
    ({"serial": [{"port": "/dev/ttyACM0"}, {"port": "/dev/ttyACM0"}]}, "#2 port '/dev/ttyACM0' is the same port"),
    ({"serial": [{"port": "/dev/ttyACM0", "stopbits": 3}]}, "stopbits: expected 1, 1.5 or 2"),
    ({"serial": [{"port": "/dev/ttyACM0", "suffix": "\\r"}]}, "suffix: expected one of"),
    ({"shared_avg_ms": 200}, "shared_avg_ms: expected at most shared_max_gap_ms"),
    ({"gap_ms": 0}, "gap_ms: expected milliseconds above 0"),
    ({"colour": "red"}, "[scanners] has unknown key 'colour'"),
])
def test_scanners_section_errors_name_the_key(tmp_path, table, message):
    with pytest.raises(ConfigError) as info:
        parse_scanners(tmp_path / "t.toml", table)
    assert message in str(info.value)


def test_the_readmes_configuration_loads_as_written(tmp_path):
    """The README's TOML blocks are one terminal.toml a person could copy (sqlite-utils' test_docs idea):
    with the key files it names in place, it loads, and the optional sections say what the README says."""
    import re

    from kit import ROOT

    from pos_app.sim.provision import provision

    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Configuration"):text.index("## The cashier screen")]
    blocks = re.findall(r"```toml\n(.*?)```", section, re.S)
    assert len(blocks) >= 3
    provision(tmp_path, "http://127.0.0.1:1")          # keys/ with the names the README uses
    (tmp_path / "terminal.toml").write_text("\n".join(blocks).replace("https://open-sea-global.alipay.com",
                                                                      "https://gateway.example.com"))
    config = load_config(tmp_path / "terminal.toml")
    assert config.printer.kind == "network" and config.printer.port == 9100 and config.printer.columns == 42
    assert config.receipts.customer == "auto" and config.entry_code.match_window == 300
    assert config.merchant.store_address.splitlines() == ["12 Harbour Road", "Wan Chai, Hong Kong"]


# --- [gateway] ca_bundle, proxy, proxy_credentials (issue 19) ---------------------------------------

def a_ca_pem() -> bytes:
    """A real CA certificate in PEM, made here (cryptography), for a bundle that must parse."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "store inspection CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def test_the_network_path_keys_default_to_the_environment_and_certifi(tmp_path):
    gateway = load_config(write(tmp_path)).gateway
    assert (gateway.ca_bundle, gateway.proxy, gateway.proxy_credentials) == (None, None, None)


def test_a_ca_bundle_relative_to_the_file_loads(tmp_path):
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls" / "ca.pem").write_bytes(b"# the store's CA\n" + a_ca_pem() + a_ca_pem())
    assert load_config(write(tmp_path, gateway={"ca_bundle": '"tls/ca.pem"'})).gateway.ca_bundle == \
        tmp_path / "tls" / "ca.pem"


@pytest.mark.parametrize("content", [b"", b"not a certificate\n",
                                     b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"])
def test_a_ca_bundle_without_a_readable_certificate_is_refused(tmp_path, content):
    (tmp_path / "ca.pem").write_bytes(content)
    message = error_of(write(tmp_path, gateway={"ca_bundle": '"ca.pem"'}))
    assert "[gateway] ca_bundle" in message and "PEM certificate" in message


def test_a_missing_ca_bundle_is_named(tmp_path):
    message = error_of(write(tmp_path, gateway={"ca_bundle": '"nowhere.pem"'}))
    assert "[gateway] ca_bundle" in message and "does not exist" in message


@pytest.mark.parametrize("literal, kept", [('"direct"', "direct"), ('"DIRECT"', "direct"),
                                           ('"http://10.0.0.1:3128"', "http://10.0.0.1:3128"),
                                           ('"http://proxy.store.lan:8080/"', "http://proxy.store.lan:8080"),
                                           ('"http://[fd00::1]:3128"', "http://[fd00::1]:3128")])
def test_a_proxy_url_or_direct_loads(tmp_path, literal, kept):
    assert load_config(write(tmp_path, gateway={"proxy": literal})).gateway.proxy == kept


@pytest.mark.parametrize("literal, words", [
    ('"https://10.0.0.1:3128"', "http://"),
    ('"socks5://10.0.0.1:1080"', "http://"),
    ('"http://10.0.0.1"', "port"),
    ('"http://10.0.0.1:3128/path"', "there must be nothing after host:port"),
    ('"10.0.0.1:3128"', "http://"),
    ('"http://10.0.0.1:99999"', "port"),
    ('"http:// 10.0.0.1:3128"', "spaces"),
])
def test_a_bad_proxy_is_refused(tmp_path, literal, words):
    message = error_of(write(tmp_path, gateway={"proxy": literal}))
    assert "[gateway] proxy" in message and words in message


def test_a_bad_proxy_is_said_in_one_sentence_naming_the_url(tmp_path):
    """zh_CN translator, issue 19: the URL once, then what is wrong with it as a whole sentence (was "expected
    the scheme http:// (...), got 'socks5', got socks5://...")."""
    message = error_of(write(tmp_path, gateway={"proxy": '"socks5://10.0.0.1:1080"'}))
    assert "[gateway] proxy 'socks5://10.0.0.1:1080': it must start with http://, not socks5://" in message
    assert "got" not in message and message.count("socks5") == 2


def test_credentials_inside_the_proxy_url_are_refused_and_never_echoed(tmp_path):
    message = error_of(write(tmp_path, gateway={"proxy": '"http://till7:hunter2@10.0.0.1:3128"'}))
    assert "[gateway] proxy" in message and "proxy_credentials" in message
    assert "a login may not be written inside the URL" in message
    assert "hunter2" not in message


def test_proxy_credentials_are_a_private_file_of_one_login(tmp_path):
    login = tmp_path / "proxy-login"
    login.write_text("till7:s3cret pw\n")
    os.chmod(login, 0o600)
    proxied = {"proxy": '"http://10.0.0.1:3128"', "proxy_credentials": '"proxy-login"'}
    assert load_config(write(tmp_path, gateway=proxied)).gateway.proxy_credentials == login
    os.chmod(login, 0o644)
    message = error_of(write(tmp_path, gateway=proxied))
    assert "[gateway] proxy_credentials" in message and "other users" in message
    os.chmod(login, 0o600)
    login.write_text("only-a-user\n")
    message = error_of(write(tmp_path, gateway=proxied))
    assert "user:password" in message and "only-a-user" not in message


@pytest.mark.parametrize("proxy", [None, '"direct"'])
def test_proxy_credentials_need_a_proxy(tmp_path, proxy):
    login = tmp_path / "proxy-login"
    login.write_text("till7:pw\n")
    os.chmod(login, 0o600)
    keys = {"proxy_credentials": '"proxy-login"'} | ({"proxy": proxy} if proxy else {})
    message = error_of(write(tmp_path, gateway=keys))
    assert "[gateway] proxy_credentials" in message and "proxy" in message
