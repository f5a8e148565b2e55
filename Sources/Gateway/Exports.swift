/// routes.json, the route table and upstream URLs live in GatewayConfig, which has no server
/// dependencies so the fuzz targets can build it quickly; the gateway re-exports it so callers and
/// tests keep writing `import Gateway`.
@_exported import GatewayConfig
