//! Optimizers: one flat loop over (parameter, gradient, state) triples.

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

    pub fn step(&mut self, params: &mut Params<T>, grads: &Params<T>) {
        let (lr, mu) = (self.lr, self.momentum);
        let triples = params
            .tensors_mut()
            .zip(grads.tensors())
            .zip(self.velocity.tensors_mut());
        for ((p, g), v) in triples {
            for ((p, &g), v) in p.iter_mut().zip(g).zip(v.iter_mut()) {
                *v = mu * *v + g; // accumulate the running direction
                *p = *p - lr * *v; // descend along it
            }
        }
    }
}

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
        grads.layers[0].w[[0, 0]] = 1.0;
        let mut sgd = Sgd::new(&arch, 0.1, 0.9);
        sgd.step(&mut params, &grads); // v = 1,   θ = −0.1
        sgd.step(&mut params, &grads); // v = 1.9, θ = −0.29
        approx::assert_abs_diff_eq!(params.layers[0].w[[0, 0]], -0.29, epsilon = 1e-12);
        assert_eq!(params.layers[0].b[0], 0.0);
    }
}
