//! Optimizers: one flat loop over (parameter, gradient, state) triples.

use arrayvec::ArrayVec;

use crate::layers::Real;
use crate::mlp::{Architecture, Params};

/// Mini-batch SGD with (heavy-ball) momentum, in PyTorch's convention:
/// v ← μ·v + g;  θ ← θ − η·v.  With μ = 0 it is plain SGD.
pub struct Sgd<T> {
    pub lr: T,
    pub momentum: T,
    /// v, one tensor per parameter tensor.
    velocity: Params<T>,
}

impl<T: Real> Sgd<T> {
    pub fn new(arch: &Architecture, lr: T, momentum: T) -> Self {
        Sgd {
            lr,
            momentum,
            velocity: Params::zeros(arch),
        }
    }

    /// One update with the mini-batch gradient g = Σ_s shards[s] (added in shard order),
    /// after which every shard's gradient is zero again, ready to accumulate the next
    /// mini-batch. One pass over the parameters, spread over the rayon pool's threads (each
    /// element's arithmetic is the same whichever thread does it).
    pub fn step(&mut self, params: &mut Params<T>, shards: &mut [Params<T>]) {
        assert!(
            shards.len() <= MAX_SHARDS,
            "at most {MAX_SHARDS} gradient shards"
        );
        for t in 0..params.tensor_count() {
            let grads = shards.iter_mut().map(|s| s.tensor_mut(t)).collect();
            let (p, v) = (params.tensor_mut(t), self.velocity.tensor_mut(t));
            sgd_update(self.lr, self.momentum, p, v, grads);
        }
    }
}

/// The most gradient shards a step takes (see `train::shards_per_batch`).
pub const MAX_SHARDS: usize = 8;

/// Parameters per task below which splitting the update further costs more than it gains.
const PARALLEL_MIN: usize = 1 << 15;

/// The momentum update of one tensor θ with velocity v and gradient shards g_s, halving the
/// range into parallel tasks while it is large.
fn sgd_update<T: Real>(
    lr: T,
    mu: T,
    p: &mut [T],
    v: &mut [T],
    mut grads: ArrayVec<&mut [T], MAX_SHARDS>,
) {
    if p.len() > PARALLEL_MIN {
        let mid = p.len() / 2;
        let (p1, p2) = p.split_at_mut(mid);
        let (v1, v2) = v.split_at_mut(mid);
        let (g1, g2) = grads.into_iter().map(|g| g.split_at_mut(mid)).unzip();
        rayon::join(
            || sgd_update(lr, mu, p1, v1, g1),
            || sgd_update(lr, mu, p2, v2, g2),
        );
        return;
    }
    let mut g = [T::zero(); CHUNK];
    for start in (0..p.len()).step_by(CHUNK) {
        let len = CHUNK.min(p.len() - start);
        let g = &mut g[..len];
        g.fill(T::zero());
        for shard in grads.iter_mut() {
            let shard = &mut shard[start..start + len];
            for (g, gs) in g.iter_mut().zip(shard.iter_mut()) {
                *g = *g + *gs;
                *gs = T::zero();
            }
        }
        let (p, v) = (&mut p[start..start + len], &mut v[start..start + len]);
        for ((p, v), &g) in p.iter_mut().zip(v.iter_mut()).zip(g.iter()) {
            *v = mu * *v + g; // accumulate the running direction
            *p = *p - lr * *v; // descend along it
        }
    }
}

/// Parameters updated per inner block: small enough for the summed gradient to stay in L1.
const CHUNK: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::Activation;

    fn tiny() -> Architecture {
        Architecture {
            input_size: 1,
            hidden: vec![],
            num_classes: 1,
            activation: Activation::Relu,
        }
    }

    #[test]
    fn momentum_accumulates_like_pytorch() {
        let arch = tiny();
        let mut params = Params::<f64>::zeros(&arch);
        let mut grads = Params::<f64>::zeros(&arch);
        let mut sgd = Sgd::new(&arch, 0.1, 0.9);
        grads.layers[0].w[[0, 0]] = 1.0;
        sgd.step(&mut params, std::slice::from_mut(&mut grads)); // v = 1,   θ = −0.1
        assert_eq!(grads.layers[0].w[[0, 0]], 0.0, "the gradient is consumed");
        grads.layers[0].w[[0, 0]] = 1.0;
        sgd.step(&mut params, std::slice::from_mut(&mut grads)); // v = 1.9, θ = −0.29
        approx::assert_abs_diff_eq!(params.layers[0].w[[0, 0]], -0.29, epsilon = 1e-12);
        assert_eq!(params.layers[0].b[0], 0.0);
    }

    #[test]
    fn shard_gradients_are_summed() {
        let arch = tiny();
        let mut one = Params::<f64>::zeros(&arch);
        let mut two = [Params::<f64>::zeros(&arch), Params::<f64>::zeros(&arch)];
        one.layers[0].b[0] = 3.0;
        two[0].layers[0].b[0] = 1.0;
        two[1].layers[0].b[0] = 2.0;
        let (mut p1, mut p2) = (Params::zeros(&arch), Params::zeros(&arch));
        Sgd::new(&arch, 0.5, 0.0).step(&mut p1, std::slice::from_mut(&mut one));
        Sgd::new(&arch, 0.5, 0.0).step(&mut p2, &mut two);
        assert_eq!(p1, p2);
        assert_eq!(p2.layers[0].b[0], -1.5);
        assert!(two.iter().all(|g| g.layers[0].b[0] == 0.0));
    }
}
