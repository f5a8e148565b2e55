/// What books (or any other caller) needs to know to call payments: its internal operations and
/// the scope they require. Callers depend on this, not on the Payments service module.
public enum PaymentsContract {
    /// Creates (idempotently, per booking) an approved payment: body ``PaymentRequest``.
    public static let payPath = "/payments"
    /// Voids a booking's payment, whether or not it was created yet: body ``VoidRequest``.
    public static let voidPath = "/payments/void"
    /// The scope a service token needs for both; only books' own client has it.
    public static let writeScope = "payments:write"
}
