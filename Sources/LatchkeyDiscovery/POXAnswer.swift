/// What one POX `autodiscover.xml` answer says, read by the namespace of its `Response`:
///
/// - mobilesync (MS-ASCMD §2.2.1.1, checked at learn.microsoft.com: §2.2.3.164 Server,
///   §2.2.3.186.1 Type, §2.2.3.188 Url, §4.2.4 the example): ActiveSync is the `Url` of an
///   `Action/Settings/Server` whose `Type` is `MobileSync`; `Action/Redirect` names a new address.
/// - outlook (MS-OXDSCLI and the Exchange POX reference, checked at learn.microsoft.com
///   exchange/client-developer/web-service-reference/ewsurl-pox and …/asurl-pox): EWS is the
///   `EwsUrl` of an `Account/Protocol` whose `Type` is `EXCH` or `EXPR`. `ASUrl` is "the URL
///   that is used to access the Availability service" (the "Autodiscover Response (POX)" example,
///   bb204082, gives it as `https://mail.contoso.com/ews/exchange.asmx`) and is never offered as
///   ActiveSync; the outlook schema has no ActiveSync URL at all.
/// - the base response schema (or none, as some test servers write): only an `Error`; a
///   namespace-less answer is read by its shape, with the same rules.
public enum POXAnswer: Sendable, Equatable {
    case settings(service: AutodiscoverResult.Service, url: String)
    case redirectAddress(String)
    case redirectURL(String)
    /// The answer's own error, or why it names no usable service.
    case error(String)

    static let responseSchema = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"

    /// Reads an answer's raw bytes (at most `Autodiscover.maximumAnswerBytes`), in time linear in
    /// their number.
    static func read(_ bytes: [UInt8]) throws(AutodiscoverXMLError) -> POXAnswer {
        var steps = 0
        return try read(bytes, steps: &steps)
    }

    /// The steps the reader took on `bytes` (each a byte looked at), whether or not it could read
    /// them: the witness that reading is linear.
    static func readingSteps(_ bytes: [UInt8]) -> Int {
        var steps = 0
        _ = try? read(bytes, steps: &steps)
        return steps
    }

    static func read(_ bytes: [UInt8], steps: inout Int) throws(AutodiscoverXMLError) -> POXAnswer {
        guard bytes.count <= Autodiscover.maximumAnswerBytes else {
            throw AutodiscoverXMLError(
                .tooLarge, "the answer has \(bytes.count) bytes, more than the \(Autodiscover.maximumAnswerBytes) read")
        }
        guard let root = try XMLReader.read(bytes, steps: &steps).root else {
            throw AutodiscoverXMLError(.malformed, "the answer has no root element")
        }
        guard root.local == "Autodiscover", root.namespace == responseSchema || root.namespace.isEmpty else {
            let namespace = root.namespace.isEmpty ? "" : " in the namespace \(XMLReader.shown(root.namespace.utf8))"
            throw AutodiscoverXMLError(
                .notAutodiscover,
                "the root element is <\(XMLReader.shown(root.local.utf8))>\(namespace), not Autodiscover's")
        }
        guard let response = root.child("Response") else {
            throw AutodiscoverXMLError(.notAutodiscover, "<Autodiscover> holds no <Response>")
        }
        switch response.namespace {
        case Autodiscover.mobileSyncResponseSchema: return mobileSync(response)
        case Autodiscover.outlookResponseSchema: return outlook(response)
        case responseSchema: return error(in: response) ?? .error("the answer names no service")
        case "": return response.child("Account") != nil ? outlook(response) : mobileSync(response)
        default:
            throw AutodiscoverXMLError(
                .notAutodiscover,
                "<Response> is in the namespace \(XMLReader.shown(response.namespace.utf8)), "
                    + "neither the mobilesync nor the outlook response schema")
        }
    }

    private static func mobileSync(_ response: XMLElement) -> POXAnswer {
        if let action = response.child("Action") {
            if let address = action.value("Redirect") { return .redirectAddress(address) }
            for server in action.child("Settings")?.children("Server") ?? []
            where server.value("Type")?.lowercased() == "mobilesync" {
                if let url = server.value("Url") { return .settings(service: .activeSync, url: url) }
            }
            if let error = action.child("Error") {
                return .error(clipped(error.value("Message") ?? "error status \(error.value("Status") ?? "?")"))
            }
        }
        return error(in: response) ?? .error("the mobilesync answer names no MobileSync server")
    }

    private static func outlook(_ response: XMLElement) -> POXAnswer {
        guard let account = response.child("Account") else {
            return error(in: response) ?? .error("the outlook answer has no Account")
        }
        switch account.value("Action")?.lowercased() {
        case "redirectaddr":
            return account.value("RedirectAddr").map(POXAnswer.redirectAddress)
                ?? .error("redirectAddr names no address")
        case "redirecturl":
            return account.value("RedirectUrl").map(POXAnswer.redirectURL) ?? .error("redirectUrl names no URL")
        default:
            let protocols = account.children("Protocol")
            for proto in protocols where ["exch", "expr"].contains(proto.value("Type")?.lowercased() ?? "") {
                if let url = proto.value("EwsUrl") { return .settings(service: .ews, url: url) }
            }
            let availability =
                protocols.contains { $0.value("ASUrl") != nil }
                ? " (its ASUrl is the Availability service, not ActiveSync)" : ""
            return .error("the outlook answer has no EwsUrl in an EXCH or EXPR Protocol" + availability)
        }
    }

    private static func error(in response: XMLElement) -> POXAnswer? {
        guard let error = response.child("Error") else { return nil }
        let code = error.value("ErrorCode").map { " (\($0))" } ?? ""
        return .error(clipped((error.value("Message") ?? "an error") + code))
    }

    /// An answer's own words, cut to what fits on a line of the trail, control characters
    /// (which could move a terminal's cursor) shown as `?`.
    static func clipped(_ text: String) -> String {
        let shown = String(
            String.UnicodeScalarView(
                text.unicodeScalars.prefix(200).map {
                    $0.properties.generalCategory == .control ? "?" : $0
                }))
        return text.unicodeScalars.count <= 200 ? shown : shown + "…"
    }

    /// Whether a body is an HTML page (a sign-in portal) rather than XML: it starts, after white
    /// space and any UTF-8 BOM, with `<html` or `<!DOCTYPE html`.
    static func isHTMLPage(_ body: [UInt8]) -> Bool {
        let text = body.starts(with: [0xEF, 0xBB, 0xBF]) ? body.dropFirst(3) : body[...]
        let head = text.drop(while: XMLTree.isSpace).prefix(14).map { $0 | 0x20 }
        return head.starts(with: "<html".utf8) || head.starts(with: "<!doctype html".utf8)
    }
}
