"""Reading one field's value: every branch ends in a value or a one-line SpecError.

A value arrives as `raw`, the pair (value, origin) of the layer that gave it, so
every error names the field as its source spells it (`--tag: ...` for a flag,
`stack.yaml: tags: ...` for a file). Flags, YAML and Pulumi config give the same
field in different shapes (a list or comma-separated text, `true` or True); all
of them are accepted here. The per-cloud rules (tags, admin principals) read
their facts from recipes/facts/<cloud>.py.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from . import facts, naming
from .errors import BadInput
from .stack_fields import label

Raw = tuple[Any, str]  # a field's value and the origin of the layer that gave it
RESERVED_TAGS = (naming.STACK_TAG, naming.MANAGED_BY_TAG)


class SpecError(BadInput, ValueError):
    """Input that does not describe a valid stack. The message is one line for the user."""


def kind_of(value: Any) -> str:
    """A value's type as a user would say it (YAML's words, not Python's)."""
    return {dict: "a mapping", list: "a list", bool: "a boolean", int: "a number",
            float: "a number", str: "text"}.get(type(value), type(value).__name__)


def where(raw: Raw | None, key: str) -> str:
    """The error prefix naming the field as its source spells it."""
    return label(key, raw[1] if raw else "flags") + ": "


def string(raw: Raw | None, key: str, default: str) -> str:
    if raw is None:
        return default
    value, _ = raw
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SpecError(where(raw, key) + f"expected text, got {kind_of(value)}")
    text = str(value).strip()
    if not text:
        raise SpecError(where(raw, key) + "must not be empty")
    return text


def whole_number(raw: Raw | None, key: str, default: int) -> int:
    if raw is None:
        return default
    value, _ = raw
    if isinstance(value, bool):
        raise SpecError(where(raw, key) + f"expected a whole number, got {kind_of(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,6}\s*", value):
        return int(value)
    raise SpecError(where(raw, key) + f"expected a whole number, got {value!r}")


def boolean(raw: Raw | None, key: str, default: bool) -> bool:
    if raw is None:
        return default
    value, _ = raw
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no"):
        return value.strip().lower() in ("true", "yes")
    raise SpecError(where(raw, key) + f"expected true or false, got {value!r}")


def choice(raw: Raw | None, key: str, choices: Iterable[str], default: str | None = None) -> str:
    choices = tuple(choices)
    value = string(raw, key, default or "")
    if value not in choices:
        raise SpecError(where(raw, key) + f"{value!r} is not one of: {', '.join(choices)}")
    return value


def text_list(raw: Raw | None, key: str) -> list[str]:
    """A list given as a YAML list, or as comma-separated text (flags, Pulumi config)."""
    if raw is None:
        return []
    value, _ = raw
    items: list[Any]
    if isinstance(value, str):
        items = [part for part in (p.strip() for p in value.split(",")) if part]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise SpecError(where(raw, key) + f"expected a list, got {kind_of(value)}")
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise SpecError(where(raw, key) + f"expected a list of text, found {kind_of(item)}")
        out.append(str(item).strip())
    return out


def cidr(text: str, raw: Raw | None) -> str:
    """One --allow-cidr entry as an IPv4 network; a bare address becomes an explicit /32."""
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise SpecError(where(raw, "allow_cidrs") + f"{text!r} is not a CIDR like 203.0.113.0/24") from None
        raise SpecError(where(raw, "allow_cidrs") + f"{text!r} has host bits set; did you mean {loose}?") from None
    if network.version != 4:
        raise SpecError(where(raw, "allow_cidrs") + f"{text!r} is IPv6; the API endpoint and load balancers take IPv4 ranges")
    return str(network)


DOMAIN_RE = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def domain(raw: Raw | None) -> str:
    """--domain: a fully qualified DNS name the user controls (Let's Encrypt issues no wildcards by HTTP-01)."""
    text = string(raw, "domain", "").lower().rstrip(".")
    if text and not DOMAIN_RE.match(text):
        hint = " (HTTP-01 cannot prove a wildcard)" if text.startswith("*.") else ""
        raise SpecError(where(raw, "domain") + f"{text!r} is not a DNS name like ml.example.com{hint}")
    return text


def acme_email(raw: Raw | None, domain_name: str) -> str:
    text = string(raw, "acme_email", "")
    if text and not domain_name:
        raise SpecError(where(raw, "acme_email") + "--acme-email only applies with --domain (the stack CA needs no account)")
    if text and not EMAIL_RE.match(text):
        raise SpecError(where(raw, "acme_email") + f"{text!r} is not an email address")
    return text


# --------------------------------------------------------------------------
# Tags: KEY=VALUE flags or a YAML mapping, checked against the cloud's rules.

def tags(raw: Raw | None, provider: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    value, _ = raw
    pairs: list[tuple[Any, Any]]
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, (list, tuple, str)):
        pairs = []
        for item in text_list(raw, "tags"):
            key, sep, val = item.partition("=")
            if not sep:
                raise SpecError(where(raw, "tags") + f"{item!r} is not KEY=VALUE")
            pairs.append((key.strip(), val.strip()))
    else:
        raise SpecError(where(raw, "tags") + f"expected a mapping of tags, got {kind_of(value)}")
    out: dict[str, str] = {}
    for key, val in pairs:
        if not isinstance(key, str) or isinstance(val, (bool, dict, list)) or val is None:
            raise SpecError(where(raw, "tags") + f"tag {key!r} must map text to text")
        val = str(val)
        if key in RESERVED_TAGS:
            raise SpecError(where(raw, "tags") + f"tag {key!r} is set by stack-recipes and cannot be overridden")
        problem = tag_problem(provider, key, val)
        if problem:
            raise SpecError(where(raw, "tags") + problem)
        out[key] = val
    return tuple(sorted(out.items()))


def tag_problem(provider: str, key: str, value: str) -> str | None:
    """What the cloud would refuse about one tag, or None."""
    rules = facts.of(provider)
    if rules.TAG_KEY_MAX is not None and (not 1 <= len(key) <= rules.TAG_KEY_MAX or len(value) > rules.TAG_VALUE_MAX):
        return f"tag {key!r}: keys are 1-{rules.TAG_KEY_MAX} characters and values at most {rules.TAG_VALUE_MAX}"
    if set(rules.TAG_KEY_FORBIDDEN) & set(key):
        return f"tag {key!r}: keys cannot contain {' '.join(rules.TAG_KEY_FORBIDDEN)}"
    if rules.TAG_RESERVED_PREFIX and key.lower().startswith(rules.TAG_RESERVED_PREFIX):
        return f"tag {key!r}: the {rules.TAG_RESERVED_PREFIX} prefix is reserved by {provider.upper()}"
    if rules.TAG_KEY_RE is not None and not (rules.TAG_KEY_RE.match(key) and rules.TAG_VALUE_RE.match(value)):
        return rules.TAG_PATTERN_PROBLEM.format(key=key, value=value)
    return None


# --------------------------------------------------------------------------
# --admin: principals in the one form each cloud's grants take (see README, "Team access").

def admins(raw: Raw | None, provider: str) -> tuple[str, ...]:
    """--admin principals in their cloud's form; the same principal twice is refused."""
    out: list[str] = []
    seen: set[str] = set()
    for item in text_list(raw, "admins"):
        admin = ADMIN_FORMS[provider](item, where(raw, "admins"))
        key = admin.rsplit(":", 1)[-1] if provider == "azure" else admin  # an object id is one principal
        if key in seen:
            raise SpecError(where(raw, "admins") + f"{item!r} is listed twice")
        seen.add(key)
        out.append(admin)
    return tuple(out)


def aws_admin(text: str, prefix: str) -> str:
    rules = facts.of("aws")
    if (session := rules.ADMIN_SESSION_RE.match(text)) is not None:
        raise SpecError(prefix + f"{text!r} is a role session, not a principal: give the role's ARN, "
                        f"arn:aws:iam::{session[1]}:role/{session[2]} (with its path, if it has one)")
    match = rules.ADMIN_RE.match(text)
    if match is None:
        raise SpecError(prefix + f"{text!r} is not an IAM role or user ARN (e.g. arn:aws:iam::123456789012:role/ml-admins)")
    if match[2] == "role" and (sso := rules.ADMIN_SSO_PATH_RE.match(match[3])) is not None:
        # EKS matches an access entry against the role ARN without the SSO path.
        raise SpecError(prefix + "EKS access entries take an IAM Identity Center (SSO) role's ARN without its "
                        f"{sso[0]} path: use arn:aws:iam::{match[1]}:role/{match[3][sso.end():]}")
    return text


def gcp_admin(text: str, prefix: str) -> str:
    match = facts.of("gcp").ADMIN_RE.match(text)
    if match is None:
        hint = f"user:{text}" if "@" in text and ":" not in text else "user:alice@example.com"
        raise SpecError(prefix + f"{text!r} is not an IAM member: write user:EMAIL, group:EMAIL or "
                        f"serviceAccount:EMAIL (e.g. {hint})")
    return f"{match[1]}:{match[2].lower()}"


def azure_admin(text: str, prefix: str) -> str:
    rules = facts.of("azure")
    match = rules.ADMIN_RE.match(text)
    if match is None:
        lookup = f" (az ad user show --id {text} --query id -o tsv)" if "@" in text else ""
        raise SpecError(prefix + f"{text!r} is not an Entra object id: give the principal's object id{lookup}, "
                        "optionally as user:<id>, group:<id> or servicePrincipal:<id>")
    kind = rules.ADMIN_KINDS[match[1].lower()] + ":" if match[1] else ""
    return kind + match[2].lower()


# How each cloud names a principal: the form its grants take, or a SpecError saying the right one.
ADMIN_FORMS = {"aws": aws_admin, "gcp": gcp_admin, "azure": azure_admin}


# --------------------------------------------------------------------------
# The `kubernetes` provider: an existing cluster, bucket and registry, named by the user.

KUBE_CONTEXT_RE = re.compile(r"^[^\s,]{1,253}$")  # kubectl takes any name; ours appear in flags and YAML
# S3's bucket naming rules (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
S3_BUCKET_RE = re.compile(r"^(?!xn--)(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
DNS_1123_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_REGISTRY_HOST = r"(?:[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(?::\d{1,5})?"
# HOST[:PORT][/PATH], as Docker references name a registry (distribution/reference: lowercase path components).
REGISTRY_RE = re.compile(rf"^{_REGISTRY_HOST}(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
LOCAL_HOSTS = ("localhost", "127.0.0.1")


def kube_context(raw: Raw | None) -> str:
    text = string(raw, "context", "")
    if text and not KUBE_CONTEXT_RE.match(text):
        raise SpecError(where(raw, "context") + f"{text!r} is not a kubeconfig context name (no spaces or commas; "
                        "`kubectl config get-contexts -o name` lists yours)")
    return text


def s3_bucket(raw: Raw | None) -> str:
    """--bucket: s3://NAME, a bucket that exists (S3's naming rules), no path."""
    text = string(raw, "bucket", "")
    if not text:
        return ""
    name = text.removeprefix("s3://").rstrip("/")
    if not text.startswith("s3://") or not S3_BUCKET_RE.match(name):
        raise SpecError(where(raw, "bucket") + f"{text!r} is not an S3 bucket URI like s3://ml-artifacts (3-63 "
                        "lowercase letters, digits, . and -, no path)")
    return f"s3://{name}"


def s3_endpoint(raw: Raw | None) -> str:
    """--bucket-endpoint: an https URL; plain http only on this machine (a port-forwarded or local store)."""
    from urllib.parse import urlsplit

    text = string(raw, "bucket_endpoint", "").rstrip("/")
    if not text:
        return ""
    try:
        url = urlsplit(text)
        url.port  # noqa: B018 - a port that is no number raises here
    except ValueError:
        url = None
    if url is None or url.scheme not in ("https", "http") or not url.hostname or url.query or url.fragment \
            or url.username or url.password:
        raise SpecError(where(raw, "bucket_endpoint") + f"{text!r} is not an endpoint URL like "
                        "https://minio.example.com (no credentials in it)")
    if url.scheme == "http" and url.hostname not in LOCAL_HOSTS:
        raise SpecError(where(raw, "bucket_endpoint") + f"{text!r} would send the bucket's keys in clear: use https "
                        "(http only for localhost or 127.0.0.1)")
    return text


def endpoint_port(url: str) -> int | None:
    """The port of a --bucket-endpoint when it is not HTTPS's 443 (its pods' egress opens it); None: 443, or none."""
    from urllib.parse import urlsplit

    if not url:
        return None
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return None if port == 443 else port


DNS_1123_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")  # a namespace's name
SECRET_REF_FORM = "[NAMESPACE/]NAME (a Kubernetes Secret; NAME alone: in namespace default)"


def secret_ref(text: str) -> tuple[str, str]:
    """--bucket-secret's (namespace, name): NAMESPACE/NAME, or NAME in namespace `default` (as kubectl)."""
    namespace, _, name = text.rpartition("/")
    return namespace or "default", name


def secret_name(raw: Raw | None) -> str:
    """--bucket-secret: [NAMESPACE/]NAME, the Secret wherever the user keeps it (read at deploy, never written)."""
    text = string(raw, "bucket_secret", "")
    if not text:
        return ""
    *namespace, name = text.split("/")
    if len(namespace) > 1 or not all(DNS_1123_LABEL_RE.match(n) for n in namespace) or not DNS_1123_RE.match(name):
        raise SpecError(where(raw, "bucket_secret") + f"{text!r} is not {SECRET_REF_FORM}: lowercase letters, "
                        "digits and - (the name also .), starting and ending with a letter or digit, e.g. ml/bucket-keys")
    return text


def registry(raw: Raw | None) -> str:
    text = string(raw, "registry", "").rstrip("/")
    if "://" in text:
        raise SpecError(where(raw, "registry") + f"{text!r}: give the registry without a scheme, "
                        f"e.g. {text.split('://', 1)[1]}")
    if text and not REGISTRY_RE.match(text):
        raise SpecError(where(raw, "registry") + f"{text!r} is not a registry like registry.example.com/ml or "
                        "k3d-registry.localhost:5000 (HOST[:PORT][/PATH], the path in lowercase)")
    return text


def existing(get: Callable[[str], Raw | None], provider: str, components: tuple[str, ...]) -> dict[str, str]:
    """The `kubernetes` provider's fields: where the cluster is, the bucket and registry it uses, how it is reached."""
    from .kubernetes.ingress.exposure import EXPOSE_MODES

    values = {
        "context": kube_context(get("context")),
        "kubeconfig": string(get("kubeconfig"), "kubeconfig", ""),
        "bucket": s3_bucket(get("bucket")),
        "bucket_endpoint": s3_endpoint(get("bucket_endpoint")),
        "bucket_secret": secret_name(get("bucket_secret")),
        "registry": registry(get("registry")),
        "expose": choice(get("expose"), "expose", EXPOSE_MODES, default="loadbalancer"),
    }
    if values["expose"] != "loadbalancer" and text_list(get("allow_cidrs"), "allow_cidrs"):
        # loadBalancerSourceRanges apply to a load balancer only: a node port or a forwarded port would ignore them.
        raise SpecError(where(get("allow_cidrs"), "allow_cidrs") + f"restricts the load balancer, which --expose "
                        f"{values['expose']} has none of: drop --allow-cidr, or use --expose loadbalancer")
    if values["expose"] != "loadbalancer" and string(get("domain"), "domain", ""):
        # Let's Encrypt's HTTP-01 challenge comes to port 80 of the name, which only a load balancer serves.
        raise SpecError(where(get("domain"), "domain") + f"Let's Encrypt checks the name on port 80, which --expose "
                        f"{values['expose']} does not serve: drop --domain, or use --expose loadbalancer")
    if not values["bucket"]:
        for key in ("bucket_endpoint", "bucket_secret"):
            if values[key]:
                raise SpecError(where(get(key), key) + "only applies with --bucket (without it, the stack's bucket "
                                "is an object store in the cluster, with keys of its own)")
    elif "bucket" not in components:
        raise SpecError(where(get("bucket"), "bucket") + "names the stack's bucket, which --without bucket leaves out: "
                        "drop one of them")
    elif not values["bucket_secret"]:
        raise SpecError(where(get("bucket"), "bucket") + "needs the keys to reach it: pass --bucket-secret "
                        f"{SECRET_REF_FORM}, a Secret of yours holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                        "(e.g. kubectl create secret generic bucket-keys -n ml --from-literal=AWS_ACCESS_KEY_ID=... "
                        "--from-literal=AWS_SECRET_ACCESS_KEY=...); the deploy reads it and keeps the keys only as "
                        "Pulumi secrets")
    if values["registry"] and "registry" not in components:
        raise SpecError(where(get("registry"), "registry") + "names the stack's registry, which --without registry "
                        "leaves out: drop one of them")
    if "registry" in components and not values["registry"]:
        raise SpecError(f"--components registry: a {provider} stack uses a registry you already have: pass "
                        "--registry HOST[/PATH] (e.g. k3d-registry.localhost:5000), or leave registry out")
    return values
