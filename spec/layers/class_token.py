"""Learned class token: prepends a learned `d`-vector along the time axis, `(time, d) -> (time + 1, d)`.

The token comes first (position 0), as in BERT's `[CLS]` and ViT's class
token; `select` takes it back out after the encoder. The feature axis `d`
must be known. Parameters: `d`. No FLOPs. Joining a learned constant is
affine (D0 class A).
"""

from dslc.spec.layers._attention import sequence
from dslc.spec.layers._shapes import A, constant, plus, to_floating
from dslc.spec.layers.base import Construct, Cost, LayerKind, LayerParams, Tensor


class ClassTokenParams(LayerParams):
    pass


@to_floating
def infer(params: ClassTokenParams, inputs: tuple[Tensor, ...]) -> Tensor:
    x, features = sequence(inputs)
    return Tensor((plus(x.shape[0], 1), features), x.dtype)


def cost(params: ClassTokenParams, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
    _, features = sequence(inputs)
    return Cost(params=features)


def build(params: ClassTokenParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
    _, features = sequence(inputs)
    return Construct("ClassToken", {"features": features})


KIND = LayerKind("class_token", ClassTokenParams, __doc__, "embedding",
                 infer=infer, cost=cost, classes=constant(A), build=build)
