"""precision auto: bf16 autocast only on the CPUs where it was measured faster (device.cpu_bf16_pays)."""
import pytest
import torch

from cnnlab.training import device as dev


_INTEL_AMX = "vendor_id\t: GenuineIntel\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile amx_int8\n"
_INTEL_NO_AMX = "vendor_id\t: GenuineIntel\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni avx512_bf16\n"
_AMD_ZEN4 = "vendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni avx512_bf16\n"
_OLD_INTEL = "vendor_id\t: GenuineIntel\nflags\t\t: fpu sse2 avx2 avx512f\n"
_ARM = "processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\nCPU implementer\t: 0x41\n"


@pytest.mark.parametrize("cpuinfo, pays", [(_INTEL_AMX, True), (_AMD_ZEN4, True), (_INTEL_NO_AMX, False),
                                           (_OLD_INTEL, False), (_ARM, False), ("", False)])
def test_bf16_autocast_only_where_it_is_faster(cpuinfo, pays):
    assert dev.cpu_bf16_pays(cpuinfo) is pays


def test_auto_precision_follows_the_cpu(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(dev, "cpu_bf16_pays", lambda: False)
    assert dev.pick_precision("auto", cpu) is None
    assert dev.pick_precision("bf16", cpu) is torch.bfloat16  # asked for explicitly: always
    monkeypatch.setattr(dev, "cpu_bf16_pays", lambda: True)
    assert dev.pick_precision("auto", cpu) is torch.bfloat16
    assert dev.pick_precision("fp32", cpu) is None
