//! How a file of a given size goes up: refused above the largest allowed size, one presigned
//! PUT up to the multipart threshold, else parts. S3 allows at most 10 000 parts of at least
//! 5 MiB (the last may be shorter), so the part size grows for files that would need more.

pub const MIN_PART_BYTES: u64 = 5 * 1024 * 1024;
pub const MAX_PARTS: u64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    pub max_size: u64,
    pub multipart_threshold: u64,
    pub part_size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Single,
    Multipart { part_size: u64, parts: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("an empty file cannot be uploaded")]
    Empty,
    #[error("the file is {size} bytes; the largest allowed is {max} bytes")]
    TooLarge { size: u64, max: u64 },
}

pub fn plan(size: u64, limits: UploadLimits) -> Result<Plan, PlanError> {
    if size == 0 {
        return Err(PlanError::Empty);
    }
    if size > limits.max_size {
        return Err(PlanError::TooLarge {
            size,
            max: limits.max_size,
        });
    }
    if size <= limits.multipart_threshold {
        return Ok(Plan::Single);
    }
    let part_size = limits
        .part_size
        .max(MIN_PART_BYTES)
        .max(size.div_ceil(MAX_PARTS));
    Ok(Plan::Multipart {
        part_size,
        parts: size.div_ceil(part_size),
    })
}

/// The length of part `number` (1-based) of a file of `size` bytes cut in `part_size` parts;
/// `None` past the last part.
pub fn part_length(size: u64, part_size: u64, number: u64) -> Option<u64> {
    let start = number.checked_sub(1)?.checked_mul(part_size)?;
    (number >= 1 && start < size).then(|| part_size.min(size - start))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;
    const LIMITS: UploadLimits = UploadLimits {
        max_size: 100_000 * MIB,
        multipart_threshold: 64 * MIB,
        part_size: 16 * MIB,
    };

    #[test]
    fn small_files_go_in_one_put_and_big_ones_in_parts() {
        assert_eq!(plan(1, LIMITS), Ok(Plan::Single));
        assert_eq!(plan(64 * MIB, LIMITS), Ok(Plan::Single));
        assert_eq!(
            plan(64 * MIB + 1, LIMITS),
            Ok(Plan::Multipart {
                part_size: 16 * MIB,
                parts: 5
            })
        );
    }

    #[test]
    fn empty_and_oversized_files_are_refused() {
        assert_eq!(plan(0, LIMITS), Err(PlanError::Empty));
        assert!(matches!(
            plan(LIMITS.max_size + 1, LIMITS),
            Err(PlanError::TooLarge { .. })
        ));
    }

    #[test]
    fn parts_never_exceed_s3_limits() {
        let Ok(Plan::Multipart { part_size, parts }) = plan(LIMITS.max_size, LIMITS) else {
            panic!("multipart");
        };
        assert!(parts <= MAX_PARTS && part_size >= MIN_PART_BYTES);
        let tiny_parts = UploadLimits {
            part_size: 1,
            multipart_threshold: 1,
            ..LIMITS
        };
        let Ok(Plan::Multipart { part_size, .. }) = plan(10 * MIB, tiny_parts) else {
            panic!("multipart");
        };
        assert_eq!(part_size, MIN_PART_BYTES);
    }

    #[test]
    fn part_lengths_cover_the_file_exactly() {
        let (size, part) = (40 * MIB + 3, 16 * MIB);
        let lengths: Vec<u64> = (1..).map_while(|n| part_length(size, part, n)).collect();
        assert_eq!(lengths, [16 * MIB, 16 * MIB, 8 * MIB + 3]);
        assert_eq!(part_length(size, part, 0), None);
    }
}
