//! Flushing denormal (subnormal) floats to zero. As training converges, momentum and
//! gradients of rarely used weights decay through the subnormal range, where every x86
//! floating-point operation takes a slow microcode path. Numbers that small change nothing in a network's outputs, so every thread that
//! computes for the network treats them as zero: FTZ and DAZ on x86-64, FZ on AArch64.
//! Training and evaluation both switch it on, so they compute alike.

/// Sets flush-to-zero on the current thread.
pub fn flush_on_this_thread() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: reads MXCSR and writes it back with FTZ (bit 15) and DAZ (bit 6) set; this
    // changes only how subnormal numbers are treated, on this thread.
    unsafe {
        let mut csr: u32 = 0;
        std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack));
        csr |= (1 << 15) | (1 << 6);
        std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack));
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: sets FPCR.FZ (bit 24), which only changes how subnormals are treated.
    unsafe {
        let mut fpcr: u64;
        std::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack));
        fpcr |= 1 << 24;
        std::arch::asm!("msr fpcr, {}", in(reg) fpcr, options(nomem, nostack));
    }
}

/// Sets flush-to-zero on the current thread and on every thread of the current rayon pool.
pub fn flush_on_all_threads() {
    flush_on_this_thread();
    rayon::broadcast(|_| flush_on_this_thread());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn subnormal_results_become_zero() {
        std::thread::spawn(|| {
            let tiny = std::hint::black_box(f32::MIN_POSITIVE);
            assert!(tiny / 4.0 > 0.0, "subnormals exist before");
            flush_on_this_thread();
            let tiny = std::hint::black_box(f32::MIN_POSITIVE);
            assert_eq!(tiny / 4.0, 0.0);
        })
        .join()
        .unwrap();
    }
}
