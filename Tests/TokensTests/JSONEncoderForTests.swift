import Foundation

enum JSONEncoderForTests {
    static func encode(_ value: some Encodable) throws -> Data {
        try JSONEncoder().encode(value)
    }
}
