import LatchkeyDiscovery
import Testing

/// A real-world (or deliberately broken) set of `WWW-Authenticate` field values and what they parse to.
struct HeaderCase: Sendable, CustomTestStringConvertible {
    var name: String
    var fields: [String]
    var challenges: [AuthChallenge]
    var methods: [OfferedMethod]

    var testDescription: String { name }
}

func challenge(
    _ scheme: String,
    token68: String? = nil,
    _ parameters: KeyValuePairs<String, String> = [:]
)
    -> AuthChallenge
{
    AuthChallenge(
        scheme: scheme,
        token68: token68,
        parameters: parameters.map { (name: $0.key, value: $0.value) }
    )
}

private let negotiateToken =
    "oYG3MIG0oAMKAQChCwYJKoZIgvcSAQICooGfBIGcYIGZBgkqhkiG9xIBAgICAG+BiTCBhqADAgEFoQMCAQ+iejB4oAMCARKicQRv/x+z=="
private let entraClaims =
    "eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwgInZhbHVlIjoiMTYwMzc0MjgwMCJ9fX0="

let realWorldHeaders: [HeaderCase] = [
    HeaderCase(
        name: "Exchange Online: Bearer with trusted issuers, then Basic Realm=\"\" in a second field",
        fields: [
            #"Bearer client_id="00000002-0000-0ff1-ce00-000000000000", trusted_issuers="00000001-0000-0000-c000-000000000000@*", token_types="app_asserted_user_v1 service_asserted_app_v1", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="invalid_token""#,
            #"Basic Realm="""#,
        ],
        challenges: [
            challenge(
                "Bearer",
                [
                    "client_id": "00000002-0000-0ff1-ce00-000000000000",
                    "trusted_issuers": "00000001-0000-0000-c000-000000000000@*",
                    "token_types": "app_asserted_user_v1 service_asserted_app_v1",
                    "authorization_uri": "https://login.microsoftonline.com/common/oauth2/authorize",
                    "error": "invalid_token",
                ]
            ),
            challenge("Basic", ["realm": ""]),
        ],
        methods: [
            .oauth(
                authorizationURI: "https://login.microsoftonline.com/common/oauth2/authorize",
                issuer: "https://login.microsoftonline.com/common/v2.0"
            ),
            .basic(realm: ""),
        ]
    ),
    HeaderCase(
        name: "IIS on premises: Negotiate and NTLM as separate fields",
        fields: ["Negotiate", "NTLM"],
        challenges: [challenge("Negotiate"), challenge("NTLM")],
        methods: [.kerberos, .ntlm]
    ),
    HeaderCase(
        name: "IIS on premises: Negotiate, NTLM in one field",
        fields: ["Negotiate, NTLM"],
        challenges: [challenge("Negotiate"), challenge("NTLM")],
        methods: [.kerberos, .ntlm]
    ),
    HeaderCase(
        name: "Apache mod_auth_gssapi: Negotiate plus Basic",
        fields: ["Negotiate", #"Basic realm="Latchkey Test""#],
        challenges: [challenge("Negotiate"), challenge("Basic", ["realm": "Latchkey Test"])],
        methods: [.kerberos, .basic(realm: "Latchkey Test")]
    ),
    HeaderCase(
        name: "Negotiate answer carrying a token68",
        fields: ["Negotiate " + negotiateToken],
        challenges: [challenge("Negotiate", token68: negotiateToken)],
        methods: [.kerberos]
    ),
    HeaderCase(
        name: "Azure AD B2C / Entra claims challenge",
        fields: [
            #"Bearer realm="", authorization_uri="https://login.microsoftonline.com/{tenant}/oauth2/authorize", error="insufficient_claims", claims=""#
                + entraClaims + #"""#
        ],
        challenges: [
            challenge(
                "Bearer",
                [
                    "realm": "",
                    "authorization_uri": "https://login.microsoftonline.com/{tenant}/oauth2/authorize",
                    "error": "insufficient_claims",
                    "claims": entraClaims,
                ]
            )
        ],
        methods: [
            .oauth(
                authorizationURI: "https://login.microsoftonline.com/{tenant}/oauth2/authorize",
                issuer: "https://login.microsoftonline.com/{tenant}/v2.0"
            )
        ]
    ),
    HeaderCase(
        name: "Azure Key Vault: Bearer authorization= with a bare tenant URL",
        fields: [
            #"Bearer authorization="https://login.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.net""#
        ],
        challenges: [
            challenge(
                "Bearer",
                [
                    "authorization": "https://login.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47",
                    "resource": "https://vault.azure.net",
                ]
            )
        ],
        methods: [
            .oauth(
                authorizationURI: "https://login.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47",
                issuer: "https://login.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
            )
        ]
    ),
    HeaderCase(
        name: "Keycloak: Bearer with an unquoted authorization_uri",
        fields: [
            "Bearer realm=corp, authorization_uri=https://kc.example.com/realms/corp/protocol/openid-connect/auth"
        ],
        challenges: [
            challenge(
                "Bearer",
                [
                    "realm": "corp",
                    "authorization_uri": "https://kc.example.com/realms/corp/protocol/openid-connect/auth",
                ]
            )
        ],
        methods: [
            .oauth(
                authorizationURI: "https://kc.example.com/realms/corp/protocol/openid-connect/auth",
                issuer: "https://kc.example.com/realms/corp"
            )
        ]
    ),
    HeaderCase(
        name: "GitHub",
        fields: [#"Basic realm="GitHub""#],
        challenges: [challenge("Basic", ["realm": "GitHub"])],
        methods: [.basic(realm: "GitHub")]
    ),
    HeaderCase(
        name: "Google",
        fields: [#"Bearer realm="https://accounts.google.com/", error="invalid_token""#],
        challenges: [
            challenge("Bearer", ["realm": "https://accounts.google.com/", "error": "invalid_token"])
        ],
        methods: [.oauth(authorizationURI: nil, issuer: nil)]
    ),
    HeaderCase(
        name: "RFC 9110 §11.6.1: Basic and Newauth sharing a field",
        fields: [#"Basic realm="simple", Newauth realm="apps", type=1, title="Login to \"apps\"""#],
        challenges: [
            challenge("Basic", ["realm": "simple"]),
            challenge("Newauth", ["realm": "apps", "type": "1", "title": #"Login to "apps""#]),
        ],
        methods: [.basic(realm: "simple"), .other("Newauth")]
    ),
    HeaderCase(
        name: "RFC 7235 §4.1: Newauth first, with folded whitespace",
        fields: [
            "Newauth realm=\"apps\", type=1,\t\n title=\"Login to \\\"apps\\\"\", Basic realm=\"simple\""
        ],
        challenges: [
            challenge("Newauth", ["realm": "apps", "type": "1", "title": #"Login to "apps""#]),
            challenge("Basic", ["realm": "simple"]),
        ],
        methods: [.other("Newauth"), .basic(realm: "simple")]
    ),
    HeaderCase(
        name: "RFC 7617 §2.1: Basic with charset",
        fields: [#"Basic realm="foo", charset="UTF-8""#],
        challenges: [challenge("Basic", ["realm": "foo", "charset": "UTF-8"])],
        methods: [.basic(realm: "foo")]
    ),
    HeaderCase(
        name: "RFC 6750 §3: Bearer error with description",
        fields: [
            #"Bearer realm="example", error="invalid_token", error_description="The access token expired""#
        ],
        challenges: [
            challenge(
                "Bearer",
                [
                    "realm": "example", "error": "invalid_token",
                    "error_description": "The access token expired",
                ]
            )
        ],
        methods: [.oauth(authorizationURI: nil, issuer: nil)]
    ),
    HeaderCase(
        name: "Digest with commas inside quoted strings",
        fields: [#"Digest realm="a, b", qop="auth,auth-int", nonce="x""#],
        challenges: [challenge("Digest", ["realm": "a, b", "qop": "auth,auth-int", "nonce": "x"])],
        methods: [.other("Digest")]
    ),
    HeaderCase(
        name: "Escaped quotes",
        fields: [#"Basic realm="say \"hi\"""#],
        challenges: [challenge("Basic", ["realm": #"say "hi""#])],
        methods: [.basic(realm: #"say "hi""#)]
    ),
    HeaderCase(
        name: "Any case, extra spaces and BWS around '='",
        fields: ["  BASIC   REALM = \"x\" ,  Charset\t=\tUTF-8  ,  kerberos  "],
        challenges: [challenge("BASIC", ["realm": "x", "charset": "UTF-8"]), challenge("kerberos")],
        methods: [.basic(realm: "x"), .kerberos]
    ),
    HeaderCase(
        name: "Token68 followed by parameters and another challenge",
        fields: ["Negotiate abc+/==, realm=x, NTLM TlRMTVNTUAACAAAA"],
        challenges: [
            challenge("Negotiate", token68: "abc+/==", ["realm": "x"]),
            challenge("NTLM", token68: "TlRMTVNTUAACAAAA"),
        ],
        methods: [.kerberos, .ntlm]
    ),
    HeaderCase(
        name: "Malformed: unterminated quoted string",
        fields: [#"Bearer realm="unterminated"#],
        challenges: [challenge("Bearer")],
        methods: [.oauth(authorizationURI: nil, issuer: nil)]
    ),
    HeaderCase(
        name: "Malformed: unterminated quote does not swallow the next challenge",
        fields: [#"Bearer realm="unterminated, Negotiate"#],
        challenges: [challenge("Bearer"), challenge("Negotiate")],
        methods: [.oauth(authorizationURI: nil, issuer: nil), .kerberos]
    ),
    HeaderCase(
        name: "Malformed: junk after a value drops only that parameter",
        fields: [#"Basic realm="x" junk, charset=UTF-8, scope=, Negotiate"#],
        challenges: [challenge("Basic", ["charset": "UTF-8"]), challenge("Negotiate")],
        methods: [.basic(realm: nil), .kerberos]
    ),
    HeaderCase(
        name: "Malformed: scheme glued to junk, parameters before any scheme",
        fields: [#"realm=x, Basic"x", /junk/, Negotiate"#],
        challenges: [challenge("Negotiate")],
        methods: [.kerberos]
    ),
    HeaderCase(name: "Malformed: =,=", fields: ["=,="], challenges: [], methods: []),
    HeaderCase(
        name: "Malformed: empty list elements around a challenge",
        fields: [",,Basic realm=x,,"],
        challenges: [challenge("Basic", ["realm": "x"])],
        methods: [.basic(realm: "x")]
    ),
    HeaderCase(name: "Malformed: empty string", fields: [""], challenges: [], methods: []),
    HeaderCase(name: "Malformed: a lone comma", fields: [","], challenges: [], methods: []),
    HeaderCase(name: "No fields at all", fields: [], challenges: [], methods: []),
]
