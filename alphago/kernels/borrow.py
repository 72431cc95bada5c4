"""Borrowed array views for the hot loops of the kernels.

Numba counts references to every array it passes around, and an inlined helper that
takes an array still increments and decrements its count (two atomic operations) on
every call. In a playout that calls a handful of helpers per move with five to ten arrays
each, these atomics cost more than a tenth of the time. ``borrowed(a)`` is a view of
``a`` without a reference count (its meminfo is null, so the count operations return at
once). The rule that keeps it safe: borrow only the arguments of the function doing the
borrowing (the caller holds them for the whole call), and never return a borrowed view
or store it where it could outlive that call.
"""

from numba.core import cgutils, types
from numba.extending import intrinsic, overload


def borrowed(arr):
    """The same array (data, shape, strides) without its reference count. In plain
    Python (numba's JIT off) the array itself."""
    return arr


@intrinsic
def _view_without_count(typingctx, arr):
    if not isinstance(arr, types.Array):
        return None

    def codegen(context, builder, signature, args):
        src = context.make_array(arr)(context, builder, value=args[0])
        out = context.make_array(arr)(context, builder)
        for field in ("nitems", "itemsize", "data", "shape", "strides"):
            setattr(out, field, getattr(src, field))
        out.meminfo = cgutils.get_null_value(src.meminfo.type)
        out.parent = cgutils.get_null_value(src.parent.type)
        return out._getvalue()

    return arr(arr), codegen


@overload(borrowed)
def _borrowed_compiled(arr):
    if isinstance(arr, types.Array):
        return lambda arr: _view_without_count(arr)
    return None
