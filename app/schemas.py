"""Pydantic schemas for every request and response of the JSON API."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

STATE_HELP = ('Short state name within the layer: "h" (every architecture), "c" (LSTM cell state), '
              '"gates.i", "gates.f", "gates.g", "gates.o" (LSTM) or "gates.r", "gates.z", "gates.n" (GRU). '
              'Default: "c" for an LSTM, "h" otherwise.')


def _integral(value: Any) -> Any:
    # JSON Schema counts 8.0 as an integer, and json.loads reads it as a float
    return int(value) if isinstance(value, float) and value.is_integer() else value


Integer = Annotated[int, BeforeValidator(_integral)]  # a whole JSON number; never a bool or a string
# An optional Integer takes its bounds inside, before the validator: a Field(ge=0) on `Integer | None` would
# be written into the JSON schema as "ge" instead of "minimum", a keyword no client knows.
Step = Annotated[int, Field(ge=0), BeforeValidator(_integral)]  # a training step


class RequestModel(BaseModel):
    """A request body as documented: no unknown fields and no coercion (a bool is not an integer, an integer
    is not a bool, a string is not a number); an integer is still a valid number, and 8.0 a valid Integer."""
    model_config = ConfigDict(extra="forbid", strict=True, protected_namespaces=())


class ModelSummary(BaseModel):
    model_config = ConfigDict(protected_namespaces=())
    name: str = Field(description="Model id, the name of its directory under models/", examples=["austen-lstm"])
    arch: str = Field(description="rnn, lstm or gru", examples=["lstm"])
    layers: int = Field(description="Number of stacked recurrent layers", examples=[2])
    hidden_size: int = Field(description="Units per layer", examples=[512])
    vocab_size: int = Field(description="Output classes: known characters plus the unknown symbol", examples=[82])
    parameters: int = Field(description="Number of trainable parameters")
    input: str = Field(description='"one-hot" or "embedding:<size>"')
    states: list[str] = Field(description="State names valid for `state` in requests", examples=[["h", "c", "gates.i"]])
    corpus: str = Field(description="Name of the training corpus", examples=["austen"])
    test_bpc: float | None = Field(description="Bits per character on the held-out test split")
    ngram_test_bpc: float | None = Field(description="Kneser-Ney n-gram baseline's bits per character, same split")
    has_cells: bool = Field(description="Whether a stored cell analysis (GET /api/models/{name}/cells) exists")
    snapshots: list[int] = Field(description="Training steps whose weights were kept (valid for `snapshot` in "
                                 "requests); empty for a model trained without --snapshots",
                                 examples=[[0, 25, 1430, 9000]])


class ModelDetail(ModelSummary):
    vocab: list[str] = Field(description="Known characters in index order (index 0, the unknown symbol, excluded)")
    card: str = Field(description="The model card (Markdown)")
    training: dict = Field(description="Training hyperparameters, steps and time, as stored in config.json")
    results: dict = Field(description="Losses in bits per character, model and n-gram baseline")


class Selection(RequestModel):
    layer: Integer | None = Field(None, description="0-based layer index; default: the last layer", examples=[1])
    state: str | None = Field(None, description=STATE_HELP, examples=["c"])
    units: list[Integer] | None = Field(None, max_length=4096, description="0-based unit indices; null for all "
                                        "units", examples=[[0, 1, 2]])


class ActivationsRequest(Selection):
    model: str = Field(description="Model name, see GET /api/models", examples=["austen-lstm"])
    text: str = Field(min_length=1, description="Text to run through the model; every character counts, "
                      "whitespace included. Characters outside the vocabulary are reported in `unknown`.",
                      examples=['"I am quite sure," said she, "that it is so."\n'])
    topk: Integer = Field(0, ge=0, le=10, description="Number of next-character predictions per position (0-10)")
    bits: bool = Field(True, description="Include per-character surprisal of the next character (runs every layer)")
    snapshot: Step | None = Field(None, description="A training step from the model's `snapshots`: compute "
                                  "with the weights of that step instead of the final ones (default: final)")


class Prediction(BaseModel):
    char: str = Field(description="A predicted next character")
    p: float = Field(description="Its probability")


class StateAnswer(BaseModel):
    """What every answer about one state of one model starts with."""
    model: str
    layer: int
    state: str
    name: str = Field(description='Stable full state name, e.g. "layers.1.c"')


class ActivationsResponse(StateAnswer):
    units: list[int]
    chars: list[str] = Field(description="One string per character of the text")
    values: list[list[float]] = Field(description="Per character, one value per requested unit (4 decimals)")
    unknown: list[int] = Field(description="Positions whose character is not in the model's vocabulary")
    predictions: list[list[Prediction]] | None = Field(None, description="Per character, top-k next characters")
    bits: list[float | None] | None = Field(
        None, description="Per character, surprisal in bits of the actual next character (null for the last)")


class SampleRequest(Selection):
    model: str = Field(description="Model name", examples=["austen-lstm"])
    prime: str = Field("", max_length=10_000, description="Text read before generating (may be empty)",
                       examples=['"My dear ' ])
    length: Integer = Field(200, ge=1, le=5000, description="Characters to generate (1-5,000)")
    temperature: float = Field(1.0, gt=0, le=10, description="Softmax temperature, > 0; lower is more conservative")
    # the largest integer a JSON number keeps exactly in a browser (Number.MAX_SAFE_INTEGER)
    seed: Integer = Field(0, ge=0, le=2**53 - 1, description="Random seed (0 to 2^53 - 1); the same seed gives the "
                      "same text")
    snapshot: Step | None = Field(None, description="A training step from the model's `snapshots`: compute "
                                  "with the weights of that step instead of the final ones (default: final)")


class HealthResponse(BaseModel):
    status: str = Field(examples=["ok"])
    models: list[str] = Field(description="Models loaded and served")
    failed: dict[str, str] = Field(description="Model directories that failed to load, with the reason")
    streams: int = Field(0, description="Requests computing in the batcher now (activations, samples)")
    queued: int = Field(0, description="Requests waiting for a place in the batcher (the queue depth)")


class ErrorResponse(BaseModel):
    detail: str = Field(description="What was wrong and what is allowed")
    errors: list[dict] | None = Field(None, description="Per-field validation errors, when there are several")


class HypothesisInfo(BaseModel):
    name: str = Field(description="Hypothesis id", examples=["inside_double_quotes"])
    value_type: str = Field(description='"binary" (scored by AUROC) or "numeric" (scored by correlation)')
    description: str


class CellAblation(BaseModel):
    bits: float = Field(description="Mean change in surprisal (bits) at the predictions of the characters that end "
                        "the hypothesis (e.g. closing quotes) when the cell is mean-ablated at every position")
    random_median: float = Field(description="The same for the median of 20 random units of the same state")
    targets: int = Field(description="How many such predictions the measured text has")


class CellEntry(BaseModel):
    hypothesis: str = Field(description='A built-in hypothesis id, or "regex" for a regular expression')
    layer: int
    state: str = Field(description='Short state name, e.g. "c" or "gates.f"')
    unit: int
    metric: str = Field(description='"auroc" (binary hypotheses) or "pearson" (numeric)')
    score: float = Field(description="max(AUROC, 1 - AUROC), or |Pearson r|; 1 is a perfect match")
    sign: int = Field(description="+1: the unit is high where the hypothesis holds (or rises with it); -1: low")
    spearman: float | None = Field(None, description="Spearman rank correlation (numeric hypotheses)")
    ablation: CellAblation | None = Field(None, description="Stored cells only, where measured "
                                          "(python -m app.cells.ablation): does the cell matter?")


class ProbeEntry(BaseModel):
    hypothesis: str = Field(description="A built-in hypothesis id")
    layer: int
    state: str = Field(description='Short state name, e.g. "c"')
    metric: str = Field(description='"auroc" (binary hypotheses) or "pearson" (numeric)')
    score: float = Field(description="The probe's max(AUROC, 1 - AUROC) or |Pearson r| on the second half of the "
                         "sample: a ridge regression from all units of this layer and state, fitted on the first half")
    best_unit: int = Field(description="The best single unit of this layer and state on the first half")
    best_unit_score: float = Field(description="That unit's score on the second half, to compare with `score`")


class RankRequest(RequestModel):
    hypothesis: str | None = Field(None, description="A built-in hypothesis id (see GET /api/hypotheses)",
                                   examples=["inside_double_quotes"])
    regex: str | None = Field(None, max_length=1000, description="A regular expression: characters inside a match "
                              "are 1, others 0; evaluated with a time limit", examples=['"[^"]*"'])
    text: str | None = Field(None, min_length=1, description="Text to rank on; default: the model's held-out sample")
    limit: Integer = Field(10, ge=1, le=100, description="How many units to return, best first")


class Example(BaseModel):
    position: int = Field(description="Character index of the peak in the model's sample")
    value: float = Field(description="The unit's activation at the peak, as the sample scan measured it (the "
                         "sample read as 64 chunks side by side, each after 256 characters of warm-up)")
    context: str = Field(description="About 60 characters of the sample around the peak")
    peak: int = Field(description="Index of the peak character within `context`")
    values: list[float] = Field(description="The unit's activation at every character of `context`, recomputed "
                                "after the 200 characters before it; equal to `value` at the peak except for "
                                "cells that keep integrating over thousands of characters")


class UnitScore(BaseModel):
    hypothesis: str
    value_type: str
    metric: str
    score: float = Field(description="Screened score on the sample (AUROC within about 0.002 of exact; Pearson exact)")
    sign: int


class DirectLogit(BaseModel):
    char: str
    logit: float = Field(description="Change of this character's logit per unit of the unit's activation")


class DirectEffect(BaseModel):
    raises: list[DirectLogit] = Field(description="The characters whose logits the unit raises most, largest first")
    lowers: list[DirectLogit] = Field(description="The characters whose logits it lowers most, most negative first")


class UnitReport(BaseModel):
    model: str
    layer: int
    state: str
    unit: int
    name: str = Field(description='Stable state name, e.g. "layers.1.c"')
    scores: list[UnitScore] = Field(description="Against every built-in hypothesis present in the sample, best first")
    top: list[Example] = Field(description="Where the unit is most positive in the sample (one per 64-char segment)")
    bottom: list[Example] = Field(description="Where the unit is most negative")
    saturation: dict[str, float] | None = Field(None, description="Sigmoid gates: fraction of characters < 0.1 "
                                                "(left) and > 0.9 (right)")
    direct_effect: DirectEffect | None = Field(None, description="Top layer's h only (null otherwise): its direct "
                                               "effect on the next character's logits through the output layer, "
                                               "the column of the output weights (the unknown symbol left out)")


class GateSaturation(BaseModel):
    layer: int
    gate: str = Field(description='"gates.i", "gates.f", "gates.o" (LSTM) or "gates.r", "gates.z" (GRU)')
    left: list[float] = Field(description="Per unit, fraction of characters with activation < 0.1")
    right: list[float] = Field(description="Per unit, fraction of characters with activation > 0.9")


class SaturationResponse(BaseModel):
    model: str
    sample_chars: int
    gates: list[GateSaturation]


class SnapshotInfo(BaseModel):
    step: int = Field(description="Training step", examples=[1430])
    chars_seen: int = Field(description="Training characters read by then (steps x streams x characters per chunk)")
    val_bpc: float = Field(description="Validation bits per character at that step")


class SnapshotList(BaseModel):
    model: str
    snapshots: list[SnapshotInfo] = Field(description="By step; empty for a model trained without --snapshots")


class TimelineFinalUnit(BaseModel):
    layer: int
    state: str
    unit: int
    sign: int = Field(description="+1: high on the hypothesis's characters, -1: low")


class TimelineUnit(TimelineFinalUnit):
    score: float = Field(description="Exact AUROC (max(AUROC, 1 - AUROC)) or |r|")


class TimelineEmergence(BaseModel):
    step: int = Field(description="First snapshot at which some unit reached the threshold")
    layer: int
    state: str
    unit: int
    is_final_unit: bool = Field(description="Whether that unit is the final model's best unit")


class TimelineHypothesis(BaseModel):
    name: str
    metric: str = Field(description='"auroc" or "pearson"')
    final_unit: TimelineFinalUnit = Field(description="The final model's best unit (from its cell analysis)")
    best: list[TimelineUnit] = Field(description="Per snapshot: the best unit then and its exact score")
    final_unit_score: list[float] = Field(description="Per snapshot: the final unit's score, read with its final sign")
    emerged: TimelineEmergence | None
    final_unit_emerged: int | None = Field(description="First step at which the final unit reached the threshold")


class Timeline(BaseModel):
    model: str
    sample_sha256: str = Field(description="sha256 of the held-out sample every snapshot was ranked on")
    thresholds: dict[str, float] = Field(description="What counts as a cell: AUROC and |r| thresholds")
    snapshots: list[SnapshotInfo]
    hypotheses: list[TimelineHypothesis]


# --- interventions: POST /api/interventions (app/engine/interventions.py says what each op does to each state) ---

MAX_INTERVENTIONS = 32  # per request; the service checks it with its own message
Position = Annotated[int, Field(ge=0), BeforeValidator(_integral)]  # bounds inside, as for Step
SpanEnd = Annotated[int, Field(ge=1), BeforeValidator(_integral)]


class Intervention(RequestModel):
    layer: Integer = Field(ge=0, description="0-based layer index", examples=[1])
    state: str = Field(description='Short state name within the layer: "h", "c" (LSTM), "gates.i", "gates.f", '
                       '"gates.g", "gates.o" (LSTM) or "gates.r", "gates.z", "gates.n" (GRU)', examples=["c"])
    units: list[Integer] = Field(max_length=4096, description="0-based unit indices, each once", examples=[[378]])
    op: Literal["zero", "mean", "clamp"] = Field(
        description='"zero": set to 0; "mean": set to the unit\'s mean over the model\'s held-out sample (needs its '
        'stored cell analysis); "clamp": set to `value`', examples=["mean"])
    value: Annotated[float, Field(allow_inf_nan=False)] | None = Field(
        None, description="What a clamp sets the units to: any finite number, also outside the state's usual "
        "range (steering); only with clamp")
    start: Position | None = Field(None, description="First position it acts on (the step that reads that "
                                   "character); default 0")
    end: SpanEnd | None = Field(None, description="The position after the last one it acts on (the span is "
                                "[start, end)); default: the length of the text")


class InterventionsRequest(Selection):
    model: str = Field(description="Model name, see GET /api/models", examples=["austen-lstm"])
    text: str = Field(min_length=1, description="Text to run through the model twice, without and with the "
                      "interventions", examples=['"I am quite sure," said she, "that it is so."\n'])
    interventions: list[Intervention] = Field(
        description=f"At most {MAX_INTERVENTIONS}, applied together: within a step each state is changed as the "
        "step computes it (gates, then c, then h), and where two set the same unit of the same state at the same "
        "position the later one in the list wins. Empty: the plain pass twice.")
    topk: Integer = Field(0, ge=0, le=10, description="Number of next-character predictions per position and "
                          "pass (0-10)")
    snapshot: Step | None = Field(None, description="A training step from the model's `snapshots`: both passes "
                                  "use the weights of that step (default: final). `mean` is refused with a "
                                  "snapshot: the stored unit means are the final model's")


class InterventionsResponse(BaseModel):
    model: str
    layer: int = Field(description="Layer of the returned values (the selection, not the interventions)")
    state: str
    name: str = Field(description='Stable full state name of the returned values, e.g. "layers.1.c"')
    units: list[int]
    chars: list[str] = Field(description="One string per character of the text")
    unknown: list[int] = Field(description="Positions whose character is not in the model's vocabulary")
    bits: list[float | None] = Field(description="Per character, surprisal in bits of the actual next character "
                                     "with the interventions (null for the last)")
    base_bits: list[float | None] = Field(description="The same without them (equal to POST /api/activations)")
    delta_bits: list[float | None] = Field(description="bits - base_bits: positive where the model became more "
                                           "surprised")
    kl: list[float] = Field(description="Per character, KL(without || with) in bits between the two "
                            "next-character distributions; 0 where they are the same")
    values: list[list[float]] = Field(description="Per character, the selected units with the interventions (4 "
                                      "decimals; a unit an intervention sets reads the value it was set to)")
    base_values: list[list[float]] = Field(description="The same without them")
    predictions: list[list[Prediction]] | None = Field(None, description="Per character, top-k next characters "
                                                       "with the interventions (when topk > 0)")
    base_predictions: list[list[Prediction]] | None = Field(None, description="The same without them")


MAX_STEERED = 2000  # characters per steered sample (two samples are generated)


class SteeringRequest(Selection):
    model: str = Field(description="Model name, see GET /api/models", examples=["austen-lstm"])
    prime: str = Field("", max_length=10_000, description="Text read plainly before generating (may be empty)",
                       examples=['"My dear '])
    length: Integer = Field(200, ge=1, le=MAX_STEERED, description=f"Characters to generate (1-{MAX_STEERED:,}), "
                            "in each of the two samples")
    temperature: float = Field(1.0, gt=0, le=10, description="Softmax temperature, > 0; lower is more conservative")
    seed: Integer = Field(0, ge=0, le=2**53 - 1, description="Random seed (0 to 2^53 - 1), the same for both "
                          "samples; the plain one equals POST /api/sample's with this seed")
    interventions: list[Intervention] = Field(
        description=f"At most {MAX_INTERVENTIONS}, as for POST /api/interventions, acting on the steps that read "
        "the generated characters: start and end count generated positions (0: the step reading the first "
        "generated character; default: every one). The prime is read plainly, so the first character of both "
        "samples is drawn from the same distribution")
    snapshot: Step | None = Field(None, description="A training step from the model's `snapshots` (default: "
                                  "final); `mean` is refused with a snapshot")


class SampledText(BaseModel):
    chars: list[str] = Field(description="The generated characters, one string each")
    values: list[list[float]] = Field(description="Per character, the selected units while reading it (4 decimals)")
    p: list[float] = Field(description="Per character, the probability it was drawn with")


class SteeringResponse(StateAnswer):
    units: list[int]
    prime: str
    unknown: list[int] = Field(description="Positions of the prime whose character is not in the vocabulary")
    steered: SampledText = Field(description="Generated with the interventions")
    plain: SampledText = Field(description="Generated without them, with the same seed")
    diverged_at: int | None = Field(description="First position where the two samples differ (null: they are "
                                    "the same text)")


# --- unit importance for a target: POST /api/models/{name}/importance (app/engine/importance.py) ---

MAX_CONFIRM = 32


class ImportanceTarget(RequestModel):
    hypothesis: str | None = Field(None, description="A built-in binary hypothesis (GET /api/hypotheses): its "
                                   "positive characters are the target", examples=[None])
    regex: str | None = Field(None, max_length=1000, description="A regular expression: the characters inside a "
                              "match are the target; evaluated with a time limit", examples=['"'])


class ImportanceRequest(RequestModel):
    target: ImportanceTarget = Field(description='Exactly one of "hypothesis" or "regex"')
    layer: Integer | None = Field(None, description="0-based layer index; default: the last layer", examples=[1])
    state: str | None = Field(None, description=STATE_HELP, examples=["c"])
    text: str | None = Field(None, min_length=1, description="Text to measure on; default: the first 12,000 "
                             "characters of the model's held-out sample")
    confirm: Integer = Field(10, ge=0, le=MAX_CONFIRM, description="How many of the best estimated units to "
                             f"mean-ablate exactly (0-{MAX_CONFIRM})")


class ImportanceUnit(BaseModel):
    unit: int
    estimate: float = Field(description="First-order estimate of the unit's effect (bits): the change in mean "
                            "surprisal at the target characters minus that at the others, were it mean-ablated "
                            "at every position")


class ConfirmedUnit(ImportanceUnit):
    effect: float = Field(description="The same effect, measured: the unit mean-ablated at every position")
    target_change: float = Field(description="Measured change in mean surprisal at the target characters (bits)")
    other_change: float = Field(description="Measured change in mean surprisal at the other characters (bits)")


class ImportanceResponse(StateAnswer):
    chars: int = Field(description="Characters of the text measured on")
    target_chars: int = Field(description="How many of them (after the first) are target characters")
    units: list[ImportanceUnit] = Field(description="Every unit of the state, highest estimate first")
    confirmed: list[ConfirmedUnit] = Field(description="The first `confirm` of them, ablated exactly, in the same "
                                           "order")
    spearman: float | None = Field(description="Rank correlation of estimate and measured effect over the "
                                   "confirmed units (null for fewer than 3)")
    timing_s: dict[str, float] = Field(description="Seconds the estimate and the confirmation took")


# --- attribution: POST /api/attribution, GET /api/models/{name}/memory (app/engine/attribution.py) ---

MAX_WINDOW = 1000  # characters occluded per request: 1,000 streams of up to 1,000 steps


class AttributionRequest(RequestModel):
    model: str = Field(description="Model name, see GET /api/models", examples=["austen-lstm"])
    text: str = Field(min_length=1, description="The text the prediction is made in",
                      examples=['"I am quite sure," said she, "that it is so.'])
    position: Integer = Field(ge=0, description="The character just read (0-based): its prediction is of the "
                              "character after it, as in the `predictions` and `bits` of POST /api/activations",
                              examples=[43])
    target: str | None = Field(None, min_length=1, max_length=1, description="The predicted character to explain, "
                               "one of the model's vocabulary; default: the actual next character of the text "
                               "(required at the last position)", examples=['"'])
    window: Integer = Field(200, ge=1, le=MAX_WINDOW, description=f"How many characters up to and including "
                            f"`position` are attributed (1-{MAX_WINDOW:,}); a window longer than the text covers "
                            "all of it")
    method: Literal["occlusion", "gradient"] = Field(
        "occlusion", description='"occlusion": each character replaced by the unknown symbol (no input), one '
        'batched pass; "gradient": gradient x input, the first-order estimate of the same, cheaper and less '
        "faithful (it sees mostly the last few characters)")
    snapshot: Step | None = Field(None, description="A training step from the model's `snapshots`: explain the "
                                  "prediction of the weights of that step (default: final)")


class AttributionResponse(BaseModel):
    model: str
    method: str
    position: int
    target: str = Field(description="The character whose prediction is explained")
    target_bits: float = Field(description="Its surprisal in bits with nothing occluded")
    start: int = Field(description="The first position of the window: effects[i] is about position start + i")
    chars: list[str] = Field(description="The window's characters, one string each")
    effects: list[float] = Field(description="Per character of the window, the bits the prediction loses when it "
                                 "is occluded (measured, or estimated by gradient x input); positive: the "
                                 "prediction depended on it (4 decimals)")
    unknown: list[int] = Field(description="Positions of the window whose character is not in the vocabulary "
                               "(their effect is 0: they already are no input)")


class ReachCurve(BaseModel):
    median: list[float] = Field(description="Per distance k = 1 .. window (index k - 1), the median over the "
                                "sampled positions")
    upper_quartile: list[float] = Field(description="The same, the 75th percentile")


class MemoryReach(BaseModel):
    model: str
    window: int = Field(description="Distances measured: k = 1 .. window characters back")
    positions: int = Field(description="Random positions of the held-out sample the occlusion curve is over")
    gradient_positions: int = Field(description="Random positions the gradient curves are over")
    sample_sha256: str = Field(description="sha256 of the held-out sample (sample.txt) it was measured on")
    occlusion: ReachCurve = Field(description="|bits| the prediction of a character changes by when the "
                                  "character k positions before it is occluded (k = 1: the one just read)")
    gradient: dict[str, ReachCurve] = Field(description="Per recurrent state (e.g. \"layers.0.h\"), "
                                            "||d log2 p(a character) / d the state after reading the one k positions "
                                            "before it|| (k = 1: the state the prediction reads): the "
                                            "vanishing-gradient curve")


# --- select and match, compare two models: POST /api/models/{name}/select, /match, /api/compare (app/cells/spans.py) ---

# percentiles of each unit's own distribution on the held-out sample (app/cells/match.py)
Percentile = Annotated[float, Field(ge=50.5, le=99.5)]
Margin = Annotated[int, Field(ge=0, le=100), BeforeValidator(_integral)]
Position = Annotated[int, Field(ge=0), BeforeValidator(_integral)]  # a character index (bounds inside: see Step)
SpanEnd = Annotated[int, Field(ge=1), BeforeValidator(_integral)]
PreferredLength = Annotated[int, Field(ge=1, le=10_000), BeforeValidator(_integral)]
MATCH_STATE_HELP = ('"h", "c" (LSTM) or "all": every layer\'s h and c at once (then `layer` is ignored); gates are '
                    'not searched. Default: "c" for an LSTM, "h" otherwise.')


class SpanSelection(RequestModel):
    text: str | None = Field(None, min_length=1, description="The text the span is selected in",
                             examples=['"My dear Mr. Bennet," said his lady to him one day.'])
    start: Position | None = Field(None, description="First selected character (0-based)", examples=[1])
    end: SpanEnd | None = Field(None, description="One past the last selected character", examples=[19])
    layer: Integer | None = Field(None, description="0-based layer index; default: the last layer", examples=[1])
    state: str | None = Field(None, description=MATCH_STATE_HELP, examples=["all"])
    threshold: Percentile | None = Field(None, description="On: above the unit's own p-th percentile on the held-out "
                                         "sample (sign +1) or below its (100 - p)-th (sign -1); 50.5-99.5 in steps "
                                         "of 0.5; default: the model's suggested one", examples=[70])
    fraction: float = Field(1.0, gt=0, le=1, description="Share of the span's characters a unit must be on at (0-1]")
    before: Margin = Field(0, description="Characters before the span where a selected unit must be off (0-100)")
    after: Margin = Field(0, description="Characters after the span where a selected unit must be off (0-100)")
    track: str | None = Field(None, description="A built-in hypothesis (GET /api/hypotheses) whose per-character "
                              "values come back as a meta track", examples=["inside_double_quotes"])


class SelectRequest(SpanSelection):
    text: str = Field(min_length=1, description="The text the span is selected in",
                      examples=['"My dear Mr. Bennet," said his lady to him one day.'])
    start: Integer = Field(ge=0, description="First selected character (0-based)", examples=[1])
    end: Integer = Field(ge=1, description="One past the last selected character", examples=[19])


class MatchUnit(RequestModel):
    layer: Integer = Field(ge=0)
    state: str = Field(description='"h" or "c"')
    unit: Integer = Field(ge=0)
    sign: Literal[1, -1] = Field(description="+1: on when high; -1: on when low")


class MatchRequest(SpanSelection):
    units: list[MatchUnit] | None = Field(None, min_length=1, max_length=512, description="The units to match, "
                                          "instead of a span to select them from (then text, start and end are "
                                          "optional: the text is only searched with in_text)")
    top: Integer = Field(10, ge=1, le=50, description="Matches returned (1-50)")
    length: PreferredLength | None = Field(None, description="Length the length penalty prefers; default: "
                                   "the span's, or 20 with units")
    length_weight: float = Field(1.0, ge=0, le=4, description="Exponent of the length penalty (shorter / longer "
                                 "length)^w; 0 ignores length")
    context: Integer = Field(40, ge=0, le=200, description="Characters of context on each side of a match (0-200)")
    in_text: bool = Field(False, description="Search the sent text as well as the held-out sample")


class SelectedUnit(BaseModel):
    layer: int
    state: str
    name: str = Field(description='Full state name, e.g. "layers.1.c"')
    unit: int
    sign: int = Field(description="+1: on when high; -1: on when low")
    fraction: float | None = Field(None, description="Share of the span's characters it is on at")
    strength: float | None = Field(None, description="Mean signed distance from its median over the span, 0-1 "
                                   "(1: at its own extreme throughout)")


class ThresholdCount(BaseModel):
    threshold: float
    units: int = Field(description="Units selected at this threshold")


class Track(BaseModel):
    hypothesis: str
    values: list[float] = Field(description="Per character: 0/1 (binary) or the hypothesis's number")


class SelectResponse(BaseModel):
    model_config = ConfigDict(protected_namespaces=())
    model: str
    states: list[str] = Field(description="Full names of the states searched")
    threshold: float = Field(description="The threshold used (percentile)")
    suggested_threshold: float = Field(description="The model's default")
    units: list[SelectedUnit] = Field(description="The selected units, strongest first")
    counts: list[ThresholdCount] = Field(description="How many units pass at each threshold of a grid, for a slider")
    track: Track | None = Field(None, description="The requested hypothesis over the whole text")


class MatchItem(BaseModel):
    source: Literal["sample", "text"] = Field(description="Where it was found: the model's held-out sample or the "
                                              "sent text")
    start: int
    end: int
    score: float = Field(description="Jaccard overlap of the span's on-set with the selected set x length penalty")
    jaccard: float
    context: str = Field(description="The match with up to `context` characters on each side")
    context_start: int = Field(description="Where the context starts in its source")
    values: list[float] = Field(description="Per context character, the selected units' mean signed percentile "
                                "(-1..1; 1: all at their own extreme on their sign's side)")
    track: list[float] | None = Field(None, description="Per context character, the track hypothesis")


class HypothesisAgreement(BaseModel):
    hypothesis: str
    metric: str = Field(description='"auroc" or "pearson", as in the ranking')
    score: float = Field(description="max(AUROC, 1 - AUROC) or |r| of the selected units' mean signed percentile "
                         "over the matches' contexts")
    sign: int
    inside: float | None = Field(None, description="Binary hypotheses: share of the matched characters where it "
                                 "holds")


class MatchResponse(BaseModel):
    model_config = ConfigDict(protected_namespaces=())
    model: str
    states: list[str]
    threshold: float
    units: list[SelectedUnit]
    matches: list[MatchItem] = Field(description="Best first")
    hypotheses: list[HypothesisAgreement] = Field(description="Built-in hypotheses by agreement with the selected "
                                                  "set over the matches, best first (at most 5)")
    best_hypothesis: str | None = Field(description="The first of them; null without matches")
    track: str | None = Field(None, description="The hypothesis of each match's track (the requested one, else "
                              "the best)")


class CompareRequest(RequestModel):
    model_a: str = Field(examples=["austen-lstm"])
    model_b: str = Field(examples=["austen-rnn"])
    layer: Integer = Field(ge=0, description="model_a's layer", examples=[1])
    state: str = Field(description='model_a\'s state: "h" or "c"', examples=["c"])
    unit: Integer = Field(ge=0, description="model_a's unit", examples=[378])
    text: str | None = Field(None, min_length=2, description="Text both models read; default: the first 20,000 "
                             "characters of model_a's held-out sample")
    top: Integer = Field(10, ge=1, le=100, description="Best units of model_b returned (1-100)")
    layer_b: Position | None = Field(None, description="model_b's state for the CKA; default: the same layer "
                                    "(or its last)")
    state_b: str | None = Field(None, description='model_b\'s state for the CKA; default: the same kind, or "h"')


class ComparedUnit(BaseModel):
    layer: int
    state: str
    name: str
    unit: int
    pearson: float = Field(description="Pearson r with model_a's unit over the text (sign kept)")


class CompareResponse(BaseModel):
    model_config = ConfigDict(protected_namespaces=())
    model_a: str
    model_b: str
    name: str = Field(description="model_a's state")
    unit: int
    chars: int = Field(description="Characters of the text both read")
    units: list[ComparedUnit] = Field(description="model_b's units of every layer's h and c by |r|, best first")
    cka_a: str = Field(description="model_a's state the CKA is of")
    cka_b: str = Field(description="model_b's state the CKA is of")
    cka: float = Field(description="Linear CKA between the two states over the text (0-1; 1: the same up to rotation "
                       "and scale)")
