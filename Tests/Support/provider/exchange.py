"""Exchange shapes for the test provider: Autodiscover v2 (JSON) and POX (XML) answers, and the
challenges of the Exchange-like protected service (ActiveSync, EWS)."""

import datetime
import secrets
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

AUTODISCOVER_NS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
MOBILESYNC_SCHEMA = ("http://schemas.microsoft.com/exchange/autodiscover/mobilesync/"
                     "responseschema/2006")
OUTLOOK_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
POX_SCHEMAS = (MOBILESYNC_SCHEMA, OUTLOOK_SCHEMA)

ACTIVESYNC_PATH = "/Microsoft-Server-ActiveSync"
EWS_PATH = "/EWS/Exchange.asmx"
V2_PATH = "/autodiscover/autodiscover.json/v1.0/"
POX_PATH = "/autodiscover/autodiscover.xml"
POX_MOVED_PATH = "/autodiscover/moved/autodiscover.xml"

# Autodiscover v2's Protocol values, by their lower-case spelling.
V2_PROTOCOLS = {"activesync": "ActiveSync", "ews": "EWS"}

# What Exchange Online adds to its Bearer challenge.
BEARER_EXTRA = (', trusted_issuers="00000001-0000-0000-c000-000000000000@*", '
                'token_types="app_asserting_user"')
AS_PROTOCOL_VERSIONS = "14.0,14.1,16.0,16.1"

# Exchange Online's challenges to a request without a token, as outlook.office365.com sends them.
EXCHANGE_ONLINE_BEARER = ('Bearer client_id="00000002-0000-0ff1-ce00-000000000000", '
                          'trusted_issuers="00000001-0000-0000-c000-000000000000@*", '
                          'token_types="app_asserted_user_v1 service_asserted_app_v1", '
                          'authorization_uri="{authority}/oauth2/authorize"')


def online_challenges(shape, tenant_id, base):
    """The WWW-Authenticate fields of Exchange Online: `common` (its exact challenge), `tenant`
    (naming the tenant), `us` (Azure Government's host), `local` (the same shape with this
    provider's own address as the authority: not a Microsoft host); or of Exchange on premises
    (`onprem`: Negotiate and NTLM besides Basic)."""
    if shape == "onprem":
        return ["Negotiate", "NTLM", 'Basic realm="mail.contoso.example"']
    authority = {
        "common": "https://login.microsoftonline.com/common",
        "tenant": f"https://login.microsoftonline.com/{tenant_id}",
        "us": "https://login.microsoftonline.us/common",
        "local": f"{base}/common",
    }.get(shape)
    if authority is None:
        return []
    return [EXCHANGE_ONLINE_BEARER.format(authority=authority), 'Basic Realm=""']
AS_PROTOCOL_COMMANDS = "Sync,FolderSync,Ping"

ADDRESS_NOT_FOUND = "The e-mail address cannot be found."
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'


def split_address(email):
    """(local part, lower-case domain); the domain is "" when there is no '@'."""
    local, at, domain = email.rpartition("@")
    if not at:
        return email, ""
    return local, domain.lower()


# ----------------------------------------------------------------- Autodiscover v2


def v2_settings(base, protocol):
    path = ACTIVESYNC_PATH if protocol == "ActiveSync" else EWS_PATH
    return {"Protocol": protocol, "Url": base + path}


def v2_invalid_protocol(given):
    return {"ErrorCode": "InvalidProtocol",
            "ErrorMessage": f"The given protocol value '{given}' is invalid. Supported values "
                            "are 'ActiveSync, EWS'."}


def v2_not_found():
    return {"ErrorCode": "NotFound",
            "ErrorMessage": "No Autodiscover information for this address."}


# ----------------------------------------------------------------- POX


def parse_pox_request(body):
    """(EMailAddress, AcceptableResponseSchema) of a POX request body, whatever its namespace;
    None when the body is not XML or names no e-mail address."""
    try:
        root = ET.fromstring(body)
    except (ET.ParseError, ValueError):
        return None
    values = {}
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        name = element.tag.rsplit("}", 1)[-1]
        if name in ("EMailAddress", "AcceptableResponseSchema") and name not in values:
            values[name] = (element.text or "").strip()
    email = values.get("EMailAddress")
    if not email:
        return None
    return email, values.get("AcceptableResponseSchema", "")


def _document(response):
    return f'{XML_DECLARATION}<Autodiscover xmlns="{AUTODISCOVER_NS}">{response}</Autodiscover>'


def outlook_error(code, message):
    """The outlook schema's error (also Exchange's answer to a request it cannot read)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    at = now.strftime("%H:%M:%S.") + f"{now.microsecond // 1000:03d}"
    error_id = str(1_000_000_000 + secrets.randbelow(3_000_000_000))
    return _document(f'<Response><Error Time="{at}" Id="{error_id}"><ErrorCode>{code}'
                     f'</ErrorCode><Message>{escape(message)}</Message><DebugData />'
                     '</Error></Response>')


def invalid_request():
    return outlook_error(600, "Invalid Request")


def _mobilesync(email, display_name, action):
    return _document(f'<Response xmlns="{MOBILESYNC_SCHEMA}"><Culture>en:us</Culture><User>'
                     f'<DisplayName>{escape(display_name)}</DisplayName><EMailAddress>'
                     f'{escape(email)}</EMailAddress></User><Action>{action}</Action>'
                     '</Response>')


def _outlook(body):
    return _document(f'<Response xmlns="{OUTLOOK_SCHEMA}">{body}</Response>')


def pox_document(base, schema, email, display_name, server, outcome, target=None):
    """The POX answer for `schema` (MOBILESYNC_SCHEMA or OUTLOOK_SCHEMA). outcome: "settings",
    "redirect_addr" (target: the new address), "redirect_url" (target: the new URL; mobilesync
    has no such redirect and answers its error) or "error"."""
    activesync = escape(base + ACTIVESYNC_PATH)
    if schema == MOBILESYNC_SCHEMA:
        if outcome == "settings":
            action = (f"<Settings><Server><Type>MobileSync</Type><Url>{activesync}</Url>"
                      f"<Name>{activesync}</Name></Server></Settings>")
        elif outcome == "redirect_addr":
            action = f"<Redirect>{escape(target)}</Redirect>"
        else:
            action = (f"<Error><Status>1</Status><Message>{ADDRESS_NOT_FOUND}</Message>"
                      "<DebugData /></Error>")
        return _mobilesync(email, display_name, action)
    if outcome == "settings":
        return _outlook(f"<User><DisplayName>{escape(display_name)}</DisplayName>"
                        f"<AutoDiscoverSMTPAddress>{escape(email)}</AutoDiscoverSMTPAddress>"
                        "</User><Account><AccountType>email</AccountType><Action>settings"
                        f"</Action><Protocol><Type>EXCH</Type><Server>{escape(server)}</Server>"
                        f"<ASUrl>{escape(base + EWS_PATH)}</ASUrl><EwsUrl>{escape(base + EWS_PATH)}</EwsUrl>"
                        "</Protocol></Account>")
    if outcome == "availability_only":
        # MS-OXDSCLI: ASUrl is the Availability service (its example ends in /ews/exchange.asmx).
        return _outlook("<Account><AccountType>email</AccountType><Action>settings</Action><Protocol>"
                        f"<Type>EXCH</Type><Server>{escape(server)}</Server>"
                        f"<ASUrl>{escape(base + EWS_PATH)}</ASUrl></Protocol></Account>")
    if outcome == "redirect_addr":
        return _outlook("<Account><AccountType>email</AccountType><Action>redirectAddr</Action>"
                        f"<RedirectAddr>{escape(target)}</RedirectAddr></Account>")
    if outcome == "redirect_url":
        return _outlook("<Account><AccountType>email</AccountType><Action>redirectUrl</Action>"
                        f"<RedirectUrl>{escape(target)}</RedirectUrl></Account>")
    return outlook_error(500, ADDRESS_NOT_FOUND)


# ----------------------------------------------------------------- hostile POX answers

# Just under the client's 1 MiB response cap, so the reader (not the cap) meets them.
HOSTILE_BYTES = 1024 * 1024 - 4096


def hostile_pox(kind):
    """A mobilesync error answer whose Message is ~1 MiB of markup openers: "comments" (`<!--`
    repeated, then one `-->`), "cdata" (nested `<![CDATA[` closed twice). A quadratic reader
    spends minutes on either; XML 1.0 makes both malformed at once."""
    opener, closer = ("<!--", "-->") if kind == "comments" else ("<![CDATA[", "]]>]]>")
    head = (f'{XML_DECLARATION}<Autodiscover xmlns="{AUTODISCOVER_NS}"><Response xmlns="{MOBILESYNC_SCHEMA}">'
            "<Action><Error><Status>1</Status><Message>")
    tail = f"{closer}</Message></Error></Action></Response></Autodiscover>"
    return head + opener * ((HOSTILE_BYTES - len(head) - len(tail)) // len(opener)) + tail
