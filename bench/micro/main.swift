// Micro-benchmarks of the token hot paths: `swift run -c release portier-micro`.
// Each case runs for about a second on one thread and prints operations per second.
import CJWT
import Foundation
import Tokens

func measure(_ name: String, seconds: Double = 1.0, _ body: () throws -> Void) rethrows {
    for _ in 0..<50 { try body() }  // warm-up
    var iterations = 0
    let start = DispatchTime.now().uptimeNanoseconds
    var elapsed: Double = 0
    repeat {
        for _ in 0..<50 { try body() }
        iterations += 50
        elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    } while elapsed < seconds
    let perSecond = Double(iterations) / elapsed
    let micros = elapsed / Double(iterations) * 1e6
    print(name.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: "%12.0f/s %10.2f µs", perSecond, micros))
}

let key = try RSAKey.generate()
let signer = try TokenSigner(key: key)
let now = TokenVerifier.now()
let claims = TokenClaims(
    iss: "http://127.0.0.1:8090", sub: "hotel-client", aud: ["hotel-api"], clientID: "hotel-client", scope: "read write",
    iat: now, nbf: now, exp: now + 3600, jti: Crypto.randomToken(bytes: 16), authorities: ["ROLE_CLIENT"]
)
let token = try signer.sign(claims)
let keys = VerificationKeys([key.thumbprint: key])
let verifier = TokenVerifier(configuration: .init(issuer: "http://127.0.0.1:8090", audience: "hotel-api"))
let publicPEM = Array(try key.publicKeyPEM().utf8)

print("operation".padding(toLength: 44, withPad: " ", startingAt: 0) + "  throughput    latency")
try measure("sign RS256 (EVP, key decoded once)") { _ = try signer.sign(claims) }
let privatePEM = Array(try key.traditionalPrivateKeyPEM().utf8)
let claimsJSON = String(decoding: try JSONEncoder().encode(claims), as: UTF8.self)
measure("sign RS256 (libjwt, PEM decoded per token)") {
    var jwt: OpaquePointer?
    guard jwt_new(&jwt) == 0, let jwt else { return }
    defer { jwt_free(jwt) }
    _ = privatePEM.withUnsafeBufferPointer { jwt_set_alg(jwt, JWT_ALG_RS256, $0.baseAddress, Int32($0.count)) }
    _ = jwt_add_grants_json(jwt, claimsJSON)
    if let encoded = jwt_encode_str(jwt) { portier_jwt_free_string(encoded) }
}
let signingDigest = Crypto.sha256(Array(claimsJSON.utf8))
try measure("RSA private op, context set up per call") { _ = try key.sign(digest: signingDigest) }
try measure("verify RS256 (EVP, parsed key, full checks)") { _ = try verifier.verify(token, keys: keys) }
measure("verify RS256 (libjwt jwt_decode with PEM)") {
    var jwt: OpaquePointer?
    _ = publicPEM.withUnsafeBufferPointer { jwt_decode(&jwt, token, $0.baseAddress, Int32($0.count)) }
    jwt_free(jwt)
}
let digest = Crypto.sha256(Array(token.utf8))
let signature = Base64URL.decode(token.split(separator: ".")[2])!
measure("RSA public op only (EVP verify of a digest)") { _ = key.verify(signature: signature, digest: digest) }
measure("SHA-256 of the signing input") { _ = Crypto.sha256(Array(token.utf8)) }
let payloadSegment = String(token.split(separator: ".")[1])
measure("base64url decode of the payload") { _ = Base64URL.decode(payloadSegment) }
measure("random jti (16 bytes)") { _ = Crypto.randomToken(bytes: 16) }
