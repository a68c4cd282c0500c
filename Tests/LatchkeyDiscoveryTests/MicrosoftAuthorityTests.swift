import Testing

@testable import LatchkeyDiscovery

/// Reading a Microsoft authority from a challenge, and checking its metadata's issuer against it.
@Suite struct MicrosoftAuthorityTests {
    static let tenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"

    @Test func theAuthorityIsTheURIWithoutItsOAuth2Path() throws {
        let exchangeOnline = try #require(
            MicrosoftAuthority(authorizationURI: "https://login.microsoftonline.com/common/oauth2/authorize"))
        #expect(exchangeOnline.url == "https://login.microsoftonline.com/common")
        #expect(exchangeOnline.isMultiTenant && !exchangeOnline.namesTenant)
        #expect(
            exchangeOnline.metadataURLs == [
                "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration",
                "https://login.microsoftonline.com/common/.well-known/openid-configuration",
            ])
        let tenant = try #require(
            MicrosoftAuthority(
                authorizationURI: "https://LOGIN.microsoftonline.us/\(Self.tenantID)/oauth2/v2.0/authorize?x=1"))
        #expect(tenant.host == "login.microsoftonline.us" && tenant.tenant == Self.tenantID && tenant.namesTenant)
        #expect(
            MicrosoftAuthority(
                authorizationURI: "https://login.partner.microsoftonline.cn/contoso.cn/oauth2/authorize")?.tenant
                == "contoso.cn")
        #expect(MicrosoftAuthority(authorizationURI: "https://login.chinacloudapi.cn/common/oauth2/authorize") != nil)
    }

    @Test(arguments: [
        "http://login.microsoftonline.com/common/oauth2/authorize",  // not https
        "https://login.microsoftonline.com:8443/common/oauth2/authorize",  // another port
        "https://user@login.microsoftonline.com/common/oauth2/authorize",  // user info
        "https://login.microsoftonline.com.evil.example/common/oauth2/authorize",
        "https://evil.example/login.microsoftonline.com/common/oauth2/authorize",
        "https://login.microsoftonline.de/common/oauth2/authorize",  // Azure Germany, closed in 2021
        "https://login.microsoftonline.com/",  // no tenant
        "https://login.microsoftonline.com/con%2Ftoso/oauth2/authorize",
    ])
    func otherURIsAreNotMicrosoftAuthorities(_ uri: String) {
        #expect(MicrosoftAuthority(authorizationURI: uri) == nil)
    }

    @Test func aMultiTenantAuthorityHasTheTemplateAsIssuer() throws {
        let common = try #require(
            MicrosoftAuthority(authorizationURI: "https://login.microsoftonline.com/common/oauth2/authorize"))
        #expect(common.issuerProblem("https://login.microsoftonline.com/{tenantid}/v2.0", v2: true) == nil)
        // An alias of the cloud.
        #expect(common.issuerProblem("https://login.windows.net/{tenantid}/v2.0", v2: true) == nil)
        #expect(common.issuerProblem("https://sts.windows.net/{tenantid}/", v2: false) == nil)  // v1
        let refused = [
            "https://evil.example/{tenantid}/v2.0",  // another host
            "https://login.microsoftonline.us/{tenantid}/v2.0",  // another cloud
            "http://login.microsoftonline.com/{tenantid}/v2.0",
            "https://login.microsoftonline.com/{tenantid}/v2.0/extra",
            "https://login.microsoftonline.com/{tenantid}",  // a v1 shape where v2.0 was asked for
            "https://login.microsoftonline.com/\(Self.tenantID)/v2.0",  // not the template: not blindly some tenant
            "https://login.microsoftonline.com/{tenant}/v2.0",
            "https://login.microsoftonline.com/common/v2.0",
            "",
        ]
        for issuer in refused { #expect(common.issuerProblem(issuer, v2: true) != nil, "\(issuer)") }
    }

    @Test func aTenantsAuthorityHasTheTenantsIDAsIssuer() throws {
        let byID = try #require(
            MicrosoftAuthority(authorizationURI: "https://login.microsoftonline.com/\(Self.tenantID)/oauth2/authorize"))
        #expect(
            byID.issuerProblem("https://login.microsoftonline.com/\(Self.tenantID.uppercased())/v2.0", v2: true) == nil)
        #expect(byID.issuerProblem("https://login.microsoftonline.com/{tenantid}/v2.0", v2: true) != nil)
        #expect(
            byID.issuerProblem("https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0", v2: true)
                != nil)
        let byDomain = try #require(
            MicrosoftAuthority(authorizationURI: "https://login.microsoftonline.com/contoso.com/oauth2/authorize"))
        #expect(byDomain.issuerProblem("https://login.microsoftonline.com/\(Self.tenantID)/v2.0", v2: true) == nil)
        #expect(byDomain.issuerProblem("https://login.microsoftonline.com/contoso.com/v2.0", v2: true) != nil)
        let consumers = try #require(
            MicrosoftAuthority(authorizationURI: "https://login.microsoftonline.com/consumers/oauth2/authorize"))
        #expect(
            consumers.issuerProblem(
                "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0", v2: true) == nil)
        #expect(consumers.issuerProblem("https://login.microsoftonline.com/{tenantid}/v2.0", v2: true) != nil)
    }

    @Test func endpointsMustBeHttpsOnTheSameCloud() throws {
        let us = try #require(
            MicrosoftAuthority(authorizationURI: "https://login.microsoftonline.us/common/oauth2/authorize"))
        #expect(us.endpointProblem("https://login.microsoftonline.us/common/oauth2/v2.0/token") == nil)
        #expect(us.endpointProblem("https://login.microsoftonline.com/common/oauth2/v2.0/token") != nil)
        #expect(us.endpointProblem("http://login.microsoftonline.us/common/oauth2/v2.0/token") != nil)
        #expect(us.endpointProblem("https://login.microsoftonline.us.evil.example/token") != nil)
    }
}
