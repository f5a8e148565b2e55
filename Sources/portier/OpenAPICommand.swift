import ArgumentParser
import PortierHTTP

/// `portier openapi`: prints the OpenAPI document the gateway serves at /openapi.json, for client
/// generators and linters that want a file.
struct OpenAPICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "openapi",
        abstract: "Print the OpenAPI 3.1 document of the API behind the gateway (the same as GET /openapi.json)."
    )

    func run() {
        print(OpenAPIDocument.json)
    }
}
