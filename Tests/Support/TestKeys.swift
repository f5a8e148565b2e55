import Tokens

/// One RSA signing key per test process, for the token servers tests start in this process.
///
/// Each in-process token server used to generate its own 2048-bit key on first start. With every
/// suite running at once, dozens of generations (up to a second of CPU each) held the test
/// process's few concurrency threads, and unrelated tests timed out. Tests that are about key
/// generation or rotation still generate their own.
public enum TestKeys {
    private static let shared: Result<RSAKey, any Error> = Result { try RSAKey.generate(bits: 2048) }

    /// Puts the shared key into `directory` as a token server's keys directory, unless it holds keys already.
    public static func seed(_ directory: String) throws {
        let store = KeyStore(directory: directory)
        guard (try? store.load().keys.isEmpty) ?? true else { return }
        try store.rotate(key: try shared.get())
    }
}
