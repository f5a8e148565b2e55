/// The envelope and its errors live in EventBusModel, which needs only Foundation, so the event
/// decoding fuzz target builds without GRDB; the bus re-exports it so callers keep `import EventBus`.
@_exported import EventBusModel
