"""`recipe export --format dotenv`: one file that sh, bash, python-dotenv (and docker
compose) all read as the same variables, with the variables exported to child processes.

Docker is not tested (no engine here): compose's `env_file` parser accepts the
`export ` prefix and takes single-quoted text as is; `docker run --env-file` does not
parse at all, which README and the exporter say.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import dotenv
import pytest

from provisioner.stacks import exporters

from tests.stacks.sample import OUTPUTS

# Values that a careless quoting gets wrong: spaces, ?, &, $, #, backslash, *,
# double quotes, backticks, $( ), ~, ;, |, !, a tab.
TRACKER_URI = "http://mlflow.example:5000/a b?x=1&y=$HOME#frag\\*"
PASSWORD = 'p$w"d\\x'
BASE_URL = "http://gw.example/~u/;a|b! `echo no` $(echo no)\t*.*"
DATA = {
    **OUTPUTS,
    "tracker": {**OUTPUTS["tracker"], "uri": TRACKER_URI, "password": PASSWORD},
    "deployer": {**OUTPUTS["deployer"], "base_url": BASE_URL},
}
KUBECONFIG = "/k/my dir/ml-dev.yaml"

# What every reader must see, written out by hand.
EXPECTED = {
    "RECIPE_STACK": "ml-dev",
    "RECIPE_PROVIDER": "aws",
    "RECIPE_REGION": "eu-west-1",
    "MLFLOW_TRACKING_URI": "http://mlflow.example:5000/a b?x=1&y=$HOME#frag\\*",
    "MLFLOW_TRACKING_USERNAME": "admin",
    "MLFLOW_TRACKING_PASSWORD": 'p$w"d\\x',
    "ARTIFACT_STORE_URI": "s3://ml-dev-artifacts-abc123",
    "CONTAINER_REGISTRY_URI": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    "KUBECONFIG": "/k/my dir/ml-dev.yaml",
    "KUBE_CONTEXT": "recipe-ml-dev",
    "MODEL_DEPLOYER_FLAVOR": "seldon",
    "MODEL_DEPLOYER_NAMESPACE": "seldon",
    "MODEL_DEPLOYER_BASE_URL": "http://gw.example/~u/;a|b! `echo no` $(echo no)\t*.*",
}
WITHOUT_PASSWORD = {k: v for k, v in EXPECTED.items() if k != "MLFLOW_TRACKING_PASSWORD"}
# Every key the exporter may write: the child reports which of these it sees.
KEYS = sorted({*EXPECTED, "AZURE_STORAGE_ACCOUNT"})

HEADER = (
    "# stack-recipes: ml-dev (aws, eu-west-1)\n"
    "# Load it into your environment with `. ./FILE` (sh, bash, zsh; keep the ./, sh looks a\n"
    "# bare name up in PATH) or `set -a; . ./FILE; set +a`. python-dotenv and docker compose's\n"
    "# env_file read it too; `docker run --env-file` does not (it keeps `export` and the quotes).\n"
)
BODY = (
    "export RECIPE_STACK='ml-dev'\n"
    "export RECIPE_PROVIDER='aws'\n"
    "export RECIPE_REGION='eu-west-1'\n"
    "export MLFLOW_TRACKING_URI='http://mlflow.example:5000/a b?x=1&y=$HOME#frag\\*'\n"
    "export MLFLOW_TRACKING_USERNAME='admin'\n"
    "{password}"
    "export ARTIFACT_STORE_URI='s3://ml-dev-artifacts-abc123'\n"
    "export CONTAINER_REGISTRY_URI='123456789012.dkr.ecr.eu-west-1.amazonaws.com'\n"
    "export KUBECONFIG='/k/my dir/ml-dev.yaml'\n"
    "export KUBE_CONTEXT='recipe-ml-dev'\n"
    "export MODEL_DEPLOYER_FLAVOR='seldon'\n"
    "export MODEL_DEPLOYER_NAMESPACE='seldon'\n"
    "export MODEL_DEPLOYER_BASE_URL='http://gw.example/~u/;a|b! `echo no` $(echo no)\t*.*'\n"
)
SHOWN = HEADER + BODY.format(password="export MLFLOW_TRACKING_PASSWORD='p$w\"d\\x'\n")
HIDDEN = HEADER + BODY.format(password="# MLFLOW_TRACKING_PASSWORD: re-export with --show-secrets to include it\n")

# The child process reports the variables it was given.
CHILD = "import json, os; print(json.dumps({k: os.environ[k] for k in %r if k in os.environ}))" % (KEYS,)


def write(tmp_path, show_secrets: bool = True):
    rendered = exporters.render("dotenv", DATA, show_secrets=show_secrets, kubeconfig_path=KUBECONFIG)
    path = tmp_path / "ml dev.env"  # a space in the path too
    path.write_text(rendered.text, encoding="utf-8")
    return rendered, path


def clean_env() -> dict[str, str]:
    """The test's environment without any variable the file sets, and a HOME that
    would show if `$HOME` were expanded."""
    env = {k: v for k, v in os.environ.items() if k not in KEYS}
    env["HOME"] = "/home/expanded-by-mistake"
    return env


def child_sees(*argv: str) -> dict[str, str]:
    done = subprocess.run(argv, env=clean_env(), capture_output=True, text=True, check=True)
    assert done.stderr == ""
    return json.loads(done.stdout)


def test_the_file_is_export_lines_in_single_quotes(tmp_path):
    rendered, _ = write(tmp_path)
    assert rendered.text == SHOWN and rendered.contains_secrets


def test_without_show_secrets_the_password_is_a_comment(tmp_path):
    rendered, _ = write(tmp_path, show_secrets=False)
    assert rendered.text == HIDDEN and not rendered.contains_secrets
    assert PASSWORD not in rendered.text


@pytest.mark.parametrize("show_secrets, expected", [(True, EXPECTED), (False, WITHOUT_PASSWORD)])
def test_plain_dot_in_sh_exports_to_a_child_process(tmp_path, show_secrets, expected):
    """`. FILE` in dash, no `set -a`: a Python child sees every variable, byte for byte."""
    _, path = write(tmp_path, show_secrets)
    seen = child_sees("/bin/sh", "-c", '. "$1" && exec "$2" -c "$3"', "sh", str(path), sys.executable, CHILD)
    assert seen == expected


def test_set_a_in_bash_exports_to_a_child_process(tmp_path):
    _, path = write(tmp_path)
    script = 'set -a; . "$1"; set +a; exec "$2" -c "$3"'
    seen = child_sees("bash", "-c", script, "bash", str(path), sys.executable, CHILD)
    assert seen == EXPECTED


def test_dot_with_a_relative_path_as_the_header_says(tmp_path):
    _, path = write(tmp_path)
    (tmp_path / "ml-dev.env").write_text(path.read_text())
    done = subprocess.run(["/bin/sh", "-c", '. ./ml-dev.env && exec "$1" -c "$2"', "sh", sys.executable, CHILD],
                          cwd=tmp_path, env=clean_env(), capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == EXPECTED


@pytest.mark.parametrize("show_secrets, expected", [(True, EXPECTED), (False, WITHOUT_PASSWORD)])
def test_python_dotenv_reads_the_same_values(tmp_path, monkeypatch, show_secrets, expected):
    monkeypatch.setenv("HOME", "/home/expanded-by-mistake")
    _, path = write(tmp_path, show_secrets)
    assert dict(dotenv.dotenv_values(path)) == expected


def test_python_dotenv_and_sh_agree(tmp_path):
    _, path = write(tmp_path)
    shell = child_sees("/bin/sh", "-c", '. "$1" && exec "$2" -c "$3"', "sh", str(path), sys.executable, CHILD)
    assert dict(dotenv.dotenv_values(path)) == shell


@pytest.mark.parametrize("value, why", [
    ("http://h/it's", "a single quote"),
    ("http://h/a\nexport EVIL='1'", "a line break"),
    ("http://h/a\r", "a line break"),
    ("http://h/a\0b", "a NUL character"),
    ("http://h/a\x1bb", r"a control character \(U\+001B\)"),
    ("http://h/a\\\\b", "two backslashes"),
    ("http://h/a\\", "a trailing backslash"),
    ("http://h/${HOME}", r"'\$\{'"),
])
def test_a_value_no_quoting_reads_the_same_everywhere_is_refused(value, why):
    data = {**OUTPUTS, "tracker": {**OUTPUTS["tracker"], "uri": value}}
    with pytest.raises(exporters.ExportError, match=f"MLFLOW_TRACKING_URI .*{why}"):
        exporters.render("dotenv", data)


def test_a_refused_password_is_named_but_not_shown():
    data = {**OUTPUTS, "tracker": {**OUTPUTS["tracker"], "password": "hunter'2"}}
    with pytest.raises(exporters.ExportError, match="MLFLOW_TRACKING_PASSWORD.*single quote") as raised:
        exporters.render("dotenv", data, show_secrets=True)
    assert "hunter" not in str(raised.value)
    # Without --show-secrets the password is not written, so nothing is refused.
    assert "hunter" not in exporters.render("dotenv", data).text
