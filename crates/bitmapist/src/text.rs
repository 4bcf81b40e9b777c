//! How the engine's numbers are written for people, the same in the dashboard and the CLI:
//! counts with thousands separators.

/// A count with thousands separators: `1234567` as `"1,234,567"`.
///
/// ```
/// assert_eq!(bitmapist::thousands(0), "0");
/// assert_eq!(bitmapist::thousands(999), "999");
/// assert_eq!(bitmapist::thousands(1_234_567), "1,234,567");
/// ```
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
