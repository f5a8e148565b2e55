import Foundation
import FuzzSupport
import OAuthForms

/// The token server's form bodies and HTTP Basic client credentials. A body that parses must
/// print back (percent-encoded) to a body that parses to the same fields; credentials that parse
/// must be exactly what `BasicCredentials.header` would send for them.
enum FormsFuzz {
    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        checkForm(text)
        checkBasic(text)
        // The same bytes as the decoded `id:secret`, so the fuzzer reaches the id/secret decoding
        // without having to discover base64 first.
        checkBasic("Basic " + Data(bytes).base64EncodedString())
        if let decoded = FormDecoding.decode(Substring(text)) {
            Fuzz.check(FormDecoding.decode(Substring(FormDecoding.encode(decoded))) == decoded, "encode/decode of '\(decoded)' differs")
        }
    }

    static func checkForm(_ body: String) {
        let fields: [String: String]
        do {
            fields = try FormDecoding.parse(body)
        } catch {
            Fuzz.check(!error.message.isEmpty, "a refused body must say why")
            return
        }
        for (name, value) in fields {
            Fuzz.check(!name.isEmpty && !value.isEmpty, "empty name or value: '\(name)'='\(value)'")
        }
        let printed = fields.keys.sorted().map { FormDecoding.encode($0) + "=" + FormDecoding.encode(fields[$0] ?? "") }.joined(separator: "&")
        do {
            let again = try FormDecoding.parse(printed)
            Fuzz.check(again == fields, "'\(printed)' parses to \(again), not \(fields)")
        } catch {
            Fuzz.check(false, "'\(printed)' is refused: \(error.message)")
        }
    }

    static func checkBasic(_ header: String) {
        guard case .credentials(let id, let secret) = BasicCredentials.parse(header) else { return }
        Fuzz.check(!id.isEmpty, "empty client id accepted from '\(header)'")
        let sent = BasicCredentials.header(id: id, secret: secret)
        Fuzz.check(BasicCredentials.parse(sent) == .credentials(id: id, secret: secret), "'\(sent)' does not read back as \(id):\(secret)")
    }
}

@main enum Main {
    static func main() { Fuzz.main(FormsFuzz.run, entry: fuzzForms) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzForms(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FormsFuzz.run(Fuzz.bytes(data, size))
    return 0
}
