//! Permission bits of topics and brokers (`PermName`).

/// Queues may be consumed first (unused by clients).
pub const PERM_PRIORITY: i32 = 8;
/// Queues may be read.
pub const PERM_READ: i32 = 4;
/// Queues may be written.
pub const PERM_WRITE: i32 = 2;
/// Topic may serve as an auto-creation template.
pub const PERM_INHERIT: i32 = 1;

/// Whether `perm` allows reading.
pub fn is_readable(perm: i32) -> bool {
    perm & PERM_READ != 0
}

/// Whether `perm` allows writing.
pub fn is_writeable(perm: i32) -> bool {
    perm & PERM_WRITE != 0
}

/// Whether `perm` allows use as an auto-creation template.
pub fn is_inherited(perm: i32) -> bool {
    perm & PERM_INHERIT != 0
}

/// Whether `perm` is a value RocketMQ accepts (`[0, 8)`).
pub fn is_valid(perm: i32) -> bool {
    (0..PERM_PRIORITY).contains(&perm)
}

/// RocketMQ's text for a perm value, such as `RW-` for 6 (`PermName.perm2String`).
pub fn to_text(perm: i32) -> String {
    let mut text = String::with_capacity(3);
    text.push(if is_readable(perm) { 'R' } else { '-' });
    text.push(if is_writeable(perm) { 'W' } else { '-' });
    text.push(if is_inherited(perm) { 'X' } else { '-' });
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_and_text() {
        assert!(is_readable(6) && is_writeable(6) && !is_inherited(6));
        assert!(is_inherited(7));
        assert_eq!(to_text(6), "RW-");
        assert_eq!(to_text(7), "RWX");
        assert!(is_valid(7) && !is_valid(8) && !is_valid(-1));
    }
}
