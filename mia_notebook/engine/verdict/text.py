"""The verdict's one plain sentence."""

from __future__ import annotations

from collections.abc import Mapping

from .evidence import AttackEvidence, Family, TprPoint

__all__ = ["percent", "reason_for"]


def percent(x: float) -> str:
    """``0.143 -> '14%'``, ``0.0254 -> '2.5%'``, ``1.0 -> '100%'`` (two significant digits)."""
    pct = 100.0 * x
    if pct >= 99.5:
        return f"{pct:.0f}%"
    return f"{pct:.2g}%"


def _one_in(fpr: float) -> str:
    n = 1.0 / fpr
    if abs(n - round(n)) < 1e-6 * n:
        return f"1 in {round(n):,}"
    return percent(fpr) + " of"


def _fpr_text(fpr: float) -> str:
    return f"{100.0 * fpr:.3g}%"


def _confidence(family: Family) -> str:
    return percent(family.confidence)


def _none_reason(family: Family) -> str:
    compared = f"{family.n_attacks} attack{'s' if family.n_attacks != 1 else ''}"
    return (
        f"No attack beats chance at {_confidence(family)} confidence ({compared} compared "
        f"at {len(family.fpr)} FPR target{'s' if len(family.fpr) != 1 else ''} and "
        f"{len(family.settings)} abstention settings): no record is exposed beyond chance."
    )


def _identified(n: int, point: TprPoint, max_flag: int | None) -> str:
    noun = "record" if n == 1 else "records"
    shown = f", {max_flag} listed" if max_flag is not None and n > max_flag else ""
    return f"{n:,} {noun} identified at ≤ {_fpr_text(point.fpr)} FPR{shown}"


def reason_for(
    best: AttackEvidence | None,
    point: TprPoint | None,
    family: Family,
    n_identified: int,
    max_flag: int | None,
    labels: Mapping[str, str] | None,
    *,
    epsilon: float = 0.0,
) -> str:
    """One sentence: who the attacker is, what they achieve, the epsilon bound, the count."""
    if best is None or point is None:
        return _none_reason(family)
    label = (labels or {}).get(best.name, best.name)
    conf = _confidence(family)
    if point.p_value > family.alpha_tpr and best.guesses is not None:
        return _epsilon_led(best, label, conf, point)
    if family.resolvable:
        who = f"An attacker who wrongly accuses {_one_in(point.fpr)} non-members"
    else:
        who = f"An attacker who wrongly accuses none of the {family.n_nonmembers:,} non-members"
    parts = [
        f"{who} identifies {percent(point.tpr)} of the training records ({label}; "
        f"at least {percent(point.tpr_lower)} at {conf} confidence)"
    ]
    if epsilon > 0.0:
        parts.append(f"ε ≥ {epsilon:.2g} at {conf} confidence (one-run bound)")
    parts.append(_identified(n_identified, point, max_flag))
    return "; ".join(parts) + "."


def _epsilon_led(
    best: AttackEvidence,
    label: str,
    conf: str,
    point: TprPoint,
) -> str:
    """The sentence when only the one-run bound (not a low-FPR attacker) beats chance."""
    g = best.guesses
    assert g is not None
    return (
        f"Guessing only on the records it is surest about, the {label} attack is right "
        f"{g.correct:,} times out of {g.guesses:,}, so ε ≥ {best.epsilon:.2g} at {conf} "
        f"confidence (one-run bound); no record can be singled out beyond chance at "
        f"≤ {_fpr_text(point.fpr)} FPR."
    )
