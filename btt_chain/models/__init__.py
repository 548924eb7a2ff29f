"""Off-chain model tooling: float networks, training, int8 quantisation, model files, and import from ONNX and
from a documented .npz form. Nothing here is on the verification path (floats are fine); what it makes runs
through `runtime.compute.inference` unchanged. Needs the `models` extra for training (scikit-learn) and ONNX
import (onnx); the node never imports this package."""
