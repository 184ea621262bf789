//! A softmax Transformer: `L` layers, `H` heads, residual connections, an optional MLP (ReLU or
//! the exact GELU), optional layer norms placed pre-LN or post-LN, a positional code, causal or
//! full attention, an output head.
//!
//! For inputs `x_0 … x_{T−1}` (vectors of size `I`):
//! ```text
//! X_t   = embed(x_t) + pos_t                              (pos_t = 0 without a positional code)
//! per layer:
//!   A_t = LN1(X_t)  (or X_t)      q_t, k_t, v_t = W_q A_t + b_q, W_k A_t + b_k, W_v A_t + b_v
//!   per head h: s_tj = (q_t^h ⋅ k_j^h) · c,  c = 1/√d_k,  j ≤ t if causal else all j
//!               p_tj = exp(s_tj − max_j s_tj) / Σ_j exp(s_tj − max_j s_tj),  u_t^h = Σ_j p_tj v_j^h
//!   X_t  += W_o [u_t^1 … u_t^H] + b_o
//!   X_t  += W_2 act(W_1 LN2(X_t) + b_1) + b_2             (if the layer has an MLP)
//! hidden_t = LN_f(X_t) (or X_t),   output_t = head(hidden_t) (or hidden_t)
//! ```
//! `act` is ReLU or GELU `x·0.5·(1 + erf(x/√2))` (PyTorch's exact form, `erf` from `libm`,
//! evaluated in `f64` and rounded once like every activation). Post-LN (`norm_first` off,
//! PyTorch's default): attention reads `X_t` itself and the norms follow the residual adds,
//! `X_t = LN1(X_t + W_o u_t + b_o)`, `X_t = LN2(X_t + W_2 act(W_1 X_t + b_1) + b_2)`.
//! `LN(x) = (x − mean) / √(var + ε) ⊙ w + b` with the biased variance, as `nn.LayerNorm`.
//!
//! Rounding (see `kernel`): every `Linear` as one rounded dot product per row then a rounded bias
//! add; each score one rounded dot product, then `round(s · c)` with `c` rounded like a weight;
//! the max is exact; `round(exp(round(s − max)))`; the normaliser `Σ_j` one rounded sum;
//! `round(e / Σ)`; `u` one rounded dot product over `j` per coordinate; every residual add rounded.
//! LayerNorm: `mean = round(round(Σ x) / n)`, `d = round(x − mean)`,
//! `var = round(round(d ⋅ d) / n)`, `σ = round(√round(var + ε))`, `round(round(round(d / σ) · w) + b)`.
//! The positional code is rounded to the format (it is a parameter), as is `ε`.
//!
//! `Transformer::last_outputs` (behind `Prepared::prefix_cache` / `Prepared::last_outputs`)
//! computes only the last position of many continuations of one prefix of one-hot tokens, with
//! the prefix's keys and values cached, the scores as a blocked matrix product and the
//! embedding of a one-hot token read from one column of `W_e`; it performs the same operations
//! in the same order as `forward_lanes` and gives the same bits (tested).
//!
//! In a `Trace` the *state* at position `t` is the residual stream `X_t` after the last layer
//! (`d_model` numbers), *hidden* is `LN_f(X_t)`, *outputs* the head's output.
//!
//! Weights (the ccsep scheme; `scripts/export_torch.py` writes it), possibly under a prefix:
//! - `embed.weight` `[d_model, I]`, `embed.bias` `[d_model]` (optional), or instead an
//!   embedding table `[V, d_model]` under any usual name (`embedding.weight`, `tok_emb.weight`,
//!   …, see `roles`), which becomes `embed` = the table transposed, without a bias (the model
//!   reads one-hot tokens of size `V`);
//! - `pos.weight` `[max_len, d_model]` (or `pos_emb.weight`, `wpe.weight`, …): a learned table
//!   or given vectors (metadata `ccsep.pos = table`); `ccsep.pos = sinusoidal` uses `pos_t[2i] = sin(t / 10000^(2i/d))`,
//!   `pos_t[2i+1] = cos(t / 10000^(2i/d))` (computed in `f64`); `none` (the default without
//!   `pos.weight`) adds nothing;
//! - per layer `l = 0, 1, …`: `layers.{l}.attn.{q,k}.weight` `[H·d_k, d_model]`,
//!   `layers.{l}.attn.v.weight` `[H·d_v, d_model]`, `layers.{l}.attn.o.weight` `[d_model, H·d_v]`,
//!   each with an optional `.bias`; `layers.{l}.ln1.{weight,bias}`, `layers.{l}.ln2.{weight,bias}`
//!   `[d_model]` (optional); `layers.{l}.mlp.fc1.weight` `[d_ff, d_model]`,
//!   `layers.{l}.mlp.fc2.weight` `[d_model, d_ff]` with optional biases (optional: no MLP);
//! - `ln_f.{weight,bias}` `[d_model]` (optional); `head.weight` `[O, d_model]`, `head.bias`
//!   (optional; `fc`, `classifier`, `lm_head`, … too, see `roles`);
//! - metadata: `ccsep.heads` (required, or the load option), `ccsep.causal` (`true` by default),
//!   `ccsep.pos`, `ccsep.ln_eps` (default `1e-5`), `ccsep.norm_first` (`true` by default) and
//!   `ccsep.activation` (`relu` by default; both written only when not the default).
//!
//! PyTorch's `nn.TransformerEncoder` layout is read too: per layer
//! `layers.{l}.self_attn.in_proj_weight` `[3·d_model, d_model]` (rows `W_q`, `W_k`, `W_v`) and
//! `in_proj_bias`, `layers.{l}.self_attn.out_proj.{weight,bias}`, `layers.{l}.linear1`,
//! `layers.{l}.linear2`, `layers.{l}.norm1`, `layers.{l}.norm2`, and the optional final `norm`
//! (as `LN_f`), under any prefix, beside an embedding table, a positional table and a head found
//! by role. Its state dict records neither the heads, `norm_first`, the activation nor the mask:
//! they come from the load options (`--names heads=2,norm-first=false,activation=gelu,
//! causal=false`) or the metadata above, and a load without one of them says which is needed.

use rand_chacha::ChaCha8Rng;

use super::kernel::{Act, Arith, mul_acc, multiversion};
use super::layer_finish::FinishBufs;
use super::linear::{Linear, Matrix, buf, rounded_vec};
use super::weights::{TensorWriter, Tensors};
use crate::error::InputError;
use crate::numeric::Stats;

/// Default `ε` of the layer norms (PyTorch's).
pub const DEFAULT_LN_EPS: f64 = 1e-5;

/// The positional code added to the embedded input.
#[derive(Clone, Debug, PartialEq)]
pub enum PosCode {
    None,
    /// A `[max_len, d_model]` table: learned, or given vectors such as nearly orthogonal codes.
    Table(Matrix),
    /// The sinusoidal code of Vaswani et al., for any length.
    Sinusoidal,
}

/// `nn.LayerNorm(d)` with its affine parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerNorm {
    pub weight: Vec<f64>,
    pub bias: Vec<f64>,
    pub eps: f64,
}

/// One layer: attention (and its layer norm), then the optional MLP (and its layer norm).
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub ln1: Option<LayerNorm>,
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub o: Linear,
    pub ln2: Option<LayerNorm>,
    pub mlp: Option<(Linear, Linear)>,
}

/// The Transformer: valid by construction (every shape checked in `new`).
#[derive(Clone, Debug, PartialEq)]
pub struct Transformer {
    embed: Linear,
    pos: PosCode,
    blocks: Vec<Block>,
    ln_f: Option<LayerNorm>,
    head: Option<Linear>,
    heads: usize,
    causal: bool,
    /// Pre-LN (`true`, the default): `ln1`, `ln2` normalise the inputs of attention and MLP.
    /// Post-LN (`false`, PyTorch's `norm_first=False`): they normalise the residual stream
    /// after each residual add.
    norm_first: bool,
    activation: Activation,
}

/// The MLP's activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Activation {
    #[default]
    Relu,
    /// The exact GELU `0.5·x·(1 + erf(x/√2))` (PyTorch's default `approximate='none'`).
    Gelu,
}

impl Activation {
    pub fn parse(s: &str) -> Result<Self, InputError> {
        match s {
            "relu" => Ok(Activation::Relu),
            "gelu" => Ok(Activation::Gelu),
            _ => Err(err(format!("unknown activation {s:?}: use relu or gelu"))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Gelu => "gelu",
        }
    }

    pub(crate) fn act(self) -> Act {
        match self {
            Activation::Relu => Act::Relu,
            Activation::Gelu => Act::Gelu,
        }
    }
}

/// What a Transformer's tensors do not say: from the load options, else the file's metadata,
/// else (the ccsep scheme only) the defaults: causal, pre-LN, ReLU.
struct Settings {
    heads: usize,
    causal: bool,
    norm_first: bool,
    activation: Activation,
}

impl Settings {
    fn of(t: &Tensors, o: &super::LoadOptions, torch: bool) -> Result<Self, InputError> {
        let heads = o
            .heads
            .map_or_else(|| t.meta_parse("ccsep.heads"), |h| Ok(Some(h)))?;
        let causal = o
            .causal
            .map_or_else(|| t.meta_parse("ccsep.causal"), |c| Ok(Some(c)))?;
        let norm_first = o
            .norm_first
            .map_or_else(|| t.meta_parse("ccsep.norm_first"), |c| Ok(Some(c)))?;
        let activation = match (o.activation, t.meta("ccsep.activation")) {
            (Some(a), _) => Some(a),
            (None, Some(a)) => Some(Activation::parse(a)?),
            (None, None) => None,
        };
        let names = crate::error::Setting::Names;
        let path = t.path().display();
        if torch {
            let missing: Vec<&str> = [
                (heads.is_none(), "heads=H"),
                (norm_first.is_none(), "norm-first=true|false"),
                (activation.is_none(), "activation=relu|gelu"),
                (causal.is_none(), "causal=true|false"),
            ]
            .into_iter()
            .filter_map(|(m, s)| m.then_some(s))
            .collect();
            if !missing.is_empty() {
                return Err(err(format!(
                    "'{path}' holds PyTorch nn.TransformerEncoderLayer weights, whose state dict does not record the number of heads, norm_first, the activation or the attention mask; give {} with {names} (e.g. {names} {}) or as metadata ccsep.heads, ccsep.norm_first, ccsep.activation, ccsep.causal",
                    missing.join(", "),
                    missing.join(",")
                )));
            }
        }
        Ok(Settings {
            heads: heads.ok_or_else(|| {
                err(format!(
                    "'{path}' does not say how many heads the Transformer has (metadata ccsep.heads); give it as an option ({names} heads=H)"
                ))
            })?,
            causal: causal.unwrap_or(true),
            norm_first: norm_first.unwrap_or(true),
            activation: activation.unwrap_or_default(),
        })
    }
}

/// The layers of PyTorch's `nn.TransformerEncoderLayer` under `prefix`: `self_attn.in_proj_weight`
/// `[3d, d]` (rows `q`, `k`, `v`) and `in_proj_bias`, `self_attn.out_proj`, `linear1`,
/// `linear2`, `norm1`, `norm2`.
fn torch_blocks(
    t: &Tensors,
    prefix: &str,
    d: usize,
    ln: &dyn Fn(&str) -> Result<Option<LayerNorm>, InputError>,
) -> Result<Vec<Block>, InputError> {
    let mut blocks = Vec::new();
    for l in 0.. {
        let n = |s: &str| format!("{prefix}layers.{l}.{s}");
        if !t.contains(&n("self_attn.in_proj_weight")) {
            break;
        }
        let w = t.get(&n("self_attn.in_proj_weight"), &[3 * d, d])?;
        let b = t.get_opt(&n("self_attn.in_proj_bias"), &[3 * d])?;
        let part = |i: usize| {
            Linear::new(
                Matrix::new(d, d, w[i * d * d..(i + 1) * d * d].to_vec())?,
                b.as_ref().map(|b| b[i * d..(i + 1) * d].to_vec()),
            )
        };
        let f1 = t.linear_opt(&n("linear1"), d)?.ok_or_else(|| {
            err(format!(
                "tensor '{}' is missing from '{}' (an nn.TransformerEncoderLayer has linear1 [d_ff, {d}])",
                n("linear1.weight"),
                t.path().display()
            ))
        })?;
        let f2 = t.linear(&n("linear2"), f1.out_size(), d)?;
        let rel = |s: &str| format!("layers.{l}.{s}");
        blocks.push(Block {
            ln1: ln(&rel("norm1"))?,
            q: part(0)?,
            k: part(1)?,
            v: part(2)?,
            o: t.linear(&n("self_attn.out_proj"), d, d)?,
            ln2: ln(&rel("norm2"))?,
            mlp: Some((f1, f2)),
        });
    }
    Ok(blocks)
}

/// The first tensor of PyTorch's `nn.TransformerEncoder` layout.
const TORCH_ANCHOR: &str = "layers.0.self_attn.in_proj_weight";

/// The prefix of a Transformer's layer tensors: `given`, else where `layers.0.attn.q.weight`
/// or `embed.weight` is (the first that is somewhere).
fn find_layers_prefix(t: &Tensors, given: Option<&str>) -> Result<String, InputError> {
    if let Some(p) = given {
        return Ok(p.to_string());
    }
    const ANCHORS: [&str; 3] = ["layers.0.attn.q.weight", TORCH_ANCHOR, "embed.weight"];
    for anchor in ANCHORS {
        if t.names().any(|n| {
            n.strip_suffix(anchor)
                .is_some_and(|p| p.is_empty() || p.ends_with('.'))
        }) {
            return super::stack::find_prefix(t, anchor, None);
        }
    }
    Err(err(format!(
        "no Transformer in '{}': expected 'layers.0.attn.q.weight' (the ccsep scheme), '{TORCH_ANCHOR}' (nn.TransformerEncoder) or 'embed.weight', under any prefix; tensors there: {}",
        t.path().display(),
        t.listing()
    )))
}

/// The attention weights of one forward pass: `weights[layer][head][t][j]`, the weight position
/// `t` puts on key `j` (see `Transformer::forward_with_attention`).
pub type AttentionWeights = Vec<Vec<Vec<Vec<f64>>>>;

/// Per-position vectors of a lane block: `[position][dim · L]`.
pub(crate) struct LaneTrace {
    pub states: Vec<Vec<f64>>,
    pub hidden: Vec<Vec<f64>>,
    pub outputs: Vec<Vec<f64>>,
}

fn err(msg: String) -> InputError {
    InputError::new(msg)
}

impl Transformer {
    pub fn new(
        embed: Linear,
        pos: PosCode,
        blocks: Vec<Block>,
        ln_f: Option<LayerNorm>,
        head: Option<Linear>,
        heads: usize,
        causal: bool,
    ) -> Result<Self, InputError> {
        let d = embed.out_size();
        if d == 0 || embed.in_size() == 0 || heads == 0 {
            return Err(err(format!(
                "a Transformer needs d_model, input size and heads ≥ 1 (got {d}, {}, {heads})",
                embed.in_size()
            )));
        }
        if let PosCode::Table(t) = &pos
            && t.cols() != d
        {
            return Err(err(format!(
                "positional table has {} columns, d_model is {d}",
                t.cols()
            )));
        }
        let ln_ok = |ln: &Option<LayerNorm>, what: &str| match ln {
            Some(n)
                if n.weight.len() != d || n.bias.len() != d || n.eps.is_nan() || n.eps <= 0.0 =>
            {
                Err(err(format!(
                    "{what}: layer norm needs weight and bias of size {d} and eps > 0"
                )))
            }
            _ => Ok(()),
        };
        let lin = |l: &Linear, what: &str, input: usize, output: Option<usize>| {
            if l.in_size() != input || output.is_some_and(|o| o != l.out_size()) {
                Err(err(format!(
                    "{what} has shape [{}, {}], expected [{}, {input}]",
                    l.out_size(),
                    l.in_size(),
                    output.map_or("*".to_string(), |o| o.to_string())
                )))
            } else {
                Ok(())
            }
        };
        for (i, b) in blocks.iter().enumerate() {
            let w = |s: &str| format!("layer {i} {s}");
            ln_ok(&b.ln1, &w("ln1"))?;
            ln_ok(&b.ln2, &w("ln2"))?;
            let qk = b.q.out_size();
            if qk == 0 || qk % heads != 0 || b.v.out_size() == 0 || b.v.out_size() % heads != 0 {
                return Err(err(format!(
                    "layer {i}: q and v need H·d_k and H·d_v rows with H = {heads} (got {qk} and {})",
                    b.v.out_size()
                )));
            }
            lin(&b.q, &w("attn.q.weight"), d, None)?;
            lin(&b.k, &w("attn.k.weight"), d, Some(qk))?;
            lin(&b.v, &w("attn.v.weight"), d, None)?;
            lin(&b.o, &w("attn.o.weight"), b.v.out_size(), Some(d))?;
            if let Some((f1, f2)) = &b.mlp {
                lin(f1, &w("mlp.fc1.weight"), d, None)?;
                lin(f2, &w("mlp.fc2.weight"), f1.out_size(), Some(d))?;
            }
        }
        ln_ok(&ln_f, "ln_f")?;
        if let Some(h) = &head {
            lin(h, "head.weight", d, None)?;
        }
        Ok(Transformer {
            embed,
            pos,
            blocks,
            ln_f,
            head,
            heads,
            causal,
            norm_first: true,
            activation: Activation::Relu,
        })
    }

    /// This Transformer with its layer norms placed before (`norm_first`, the default) or
    /// after each residual add, and its MLP's activation.
    pub fn with_layout(mut self, norm_first: bool, activation: Activation) -> Self {
        self.norm_first = norm_first;
        self.activation = activation;
        self
    }

    pub fn norm_first(&self) -> bool {
        self.norm_first
    }

    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The layer norm of attention's input: `ln1` pre-LN; none post-LN (`ln1` then follows
    /// the residual add, in `finish_layer`).
    pub(crate) fn attn_norm<'a>(&self, blk: &'a Block) -> Option<&'a LayerNorm> {
        if self.norm_first {
            blk.ln1.as_ref()
        } else {
            None
        }
    }

    /// Whether the last-position fast path (`last_position`) applies: pre-LN, the form it is
    /// written for (ReLU or GELU). Post-LN runs `final_outputs` by the plain forward pass.
    pub(crate) fn fast_path_layout(&self) -> bool {
        self.norm_first
    }

    pub fn embed(&self) -> &Linear {
        &self.embed
    }

    pub fn pos(&self) -> &PosCode {
        &self.pos
    }

    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    pub fn ln_f(&self) -> Option<&LayerNorm> {
        self.ln_f.as_ref()
    }

    pub fn head(&self) -> Option<&Linear> {
        self.head.as_ref()
    }

    pub fn heads(&self) -> usize {
        self.heads
    }

    pub fn causal(&self) -> bool {
        self.causal
    }

    pub fn d_model(&self) -> usize {
        self.embed.out_size()
    }

    pub fn input_size(&self) -> usize {
        self.embed.in_size()
    }

    pub fn output_size(&self) -> usize {
        self.head.as_ref().map_or(self.d_model(), Linear::out_size)
    }

    /// The longest input the positional code covers.
    pub fn max_len(&self) -> Option<usize> {
        match &self.pos {
            PosCode::Table(t) => Some(t.rows()),
            _ => None,
        }
    }

    /// Reads a Transformer in the ccsep scheme, its input embedding `embed` or an embedding
    /// table and its head and positional table found by role (`roles`), with `options` over
    /// the file's metadata.
    pub(crate) fn load(t: &Tensors, options: &super::LoadOptions) -> Result<Self, InputError> {
        let prefix = find_layers_prefix(t, options.prefix.as_deref())?;
        let n = |s: &str| format!("{prefix}{s}");
        let path = t.path().display().to_string();
        let torch = t.contains(&n(TORCH_ANCHOR));
        let settings = Settings::of(t, options, torch)?;
        let (heads, causal) = (settings.heads, settings.causal);
        let eps = t.meta_parse("ccsep.ln_eps")?.unwrap_or(DEFAULT_LN_EPS);
        let own_embed = options.embedding.is_none() && t.contains(&n("embed.weight"));
        let d = if own_embed {
            t.dims2(&n("embed.weight"))?.0
        } else if t.contains(&n("layers.0.attn.q.weight")) {
            t.dims2(&n("layers.0.attn.q.weight"))?.1
        } else if torch {
            t.dims2(&n(TORCH_ANCHOR))?.1
        } else {
            return Err(err(format!(
                "'{path}' has no Transformer layers or input embedding under prefix '{prefix}'; tensors there: {}",
                t.listing()
            )));
        };
        let pos_kind = t.meta("ccsep.pos");
        let mut matcher = super::roles::Matcher::new(t, |name| {
            name.strip_prefix(prefix.as_str()).is_some_and(|r| {
                r.starts_with("layers.")
                    || r.starts_with("ln_f.")
                    || (torch && r.starts_with("norm."))
                    || (own_embed && r.starts_with("embed."))
            })
        });
        let pos_given = match pos_kind {
            Some("none" | "sinusoidal") => Some("none"),
            _ => options.pos.as_deref(),
        };
        use super::roles::{Role, Want};
        let mut wants = vec![
            Want {
                role: Role::Pos,
                cols: d,
                given: pos_given,
            },
            Want {
                role: Role::Head,
                cols: d,
                given: options.head.as_deref(),
            },
        ];
        if !own_embed {
            wants.push(Want {
                role: Role::Embedding,
                cols: d,
                given: options.embedding.as_deref(),
            });
        }
        let found = matcher.find(&wants)?;
        let embed = if own_embed {
            let (_, input) = t.dims2(&n("embed.weight"))?;
            t.linear(&n("embed"), input, d)?
        } else {
            match &found[2] {
                Some(m) => super::roles::embedding(t, m, d)?.linear().clone(),
                None => {
                    return Err(err(format!(
                        "'{path}' has no input embedding for the Transformer: expected 'embed.weight' [{d}, I] or an embedding table [V, {d}] (name it with {} embedding=MODULE); tensors there: {}",
                        crate::error::Setting::Names,
                        t.listing()
                    )));
                }
            }
        };
        let pos = match (pos_kind, &found[0]) {
            (Some("sinusoidal"), _) => PosCode::Sinusoidal,
            (Some("none"), _) | (None, None) => PosCode::None,
            (Some("table" | "learned" | "given") | None, Some(m)) => {
                let name = format!("{m}.weight");
                let (rows, _) = t.dims2(&name)?;
                PosCode::Table(t.matrix(&name, rows, d)?)
            }
            (Some("table" | "learned" | "given"), None) => {
                return Err(err(format!(
                    "'{path}': metadata ccsep.pos says a positional table, but no tensor '{}' [max_len, {d}] is there (name it with {} pos=MODULE)",
                    n("pos.weight"),
                    crate::error::Setting::Names
                )));
            }
            (Some(other), _) => {
                return Err(err(format!(
                    "'{path}': metadata ccsep.pos = {other:?}; use none, table or sinusoidal"
                )));
            }
        };
        let head = found[1]
            .as_deref()
            .map(|m| super::roles::head(t, m, d))
            .transpose()?;
        let ln = |name: &str| -> Result<Option<LayerNorm>, InputError> {
            let w = t.get_opt(&n(&format!("{name}.weight")), &[d])?;
            let b = t.get_opt(&n(&format!("{name}.bias")), &[d])?;
            match (w, b) {
                (None, None) => Ok(None),
                (w, b) => Ok(Some(LayerNorm {
                    weight: w.unwrap_or_else(|| vec![1.0; d]),
                    bias: b.unwrap_or_else(|| vec![0.0; d]),
                    eps,
                })),
            }
        };
        let mut blocks = Vec::new();
        for l in 0.. {
            if torch {
                break;
            }
            let p = |s: &str| format!("layers.{l}.{s}");
            if !t.contains(&n(&p("attn.q.weight"))) {
                break;
            }
            let (qk, _) = t.dims2(&n(&p("attn.q.weight")))?;
            let (vd, _) = t.dims2(&n(&p("attn.v.weight")))?;
            let mlp = match t.linear_opt(&n(&p("mlp.fc1")), d)? {
                None => None,
                Some(f1) => {
                    let f2 = t.linear(&n(&p("mlp.fc2")), f1.out_size(), d)?;
                    Some((f1, f2))
                }
            };
            blocks.push(Block {
                ln1: ln(&p("ln1"))?,
                q: t.linear(&n(&p("attn.q")), d, qk)?,
                k: t.linear(&n(&p("attn.k")), d, qk)?,
                v: t.linear(&n(&p("attn.v")), d, vd)?,
                o: t.linear(&n(&p("attn.o")), vd, d)?,
                ln2: ln(&p("ln2"))?,
                mlp,
            });
        }
        if torch {
            blocks = torch_blocks(t, &prefix, d, &ln)?;
        }
        let ln_f = ln(if torch { "norm" } else { "ln_f" })?;
        Ok(
            Transformer::new(embed, pos, blocks, ln_f, head, heads, causal)?
                .with_layout(settings.norm_first, settings.activation),
        )
    }

    pub(crate) fn save(&self, w: &mut TensorWriter) {
        w.linear("embed", &self.embed);
        let ln = |w: &mut TensorWriter, name: &str, n: &LayerNorm| {
            w.vector(format!("{name}.weight"), &n.weight);
            w.vector(format!("{name}.bias"), &n.bias);
        };
        let mut eps = None;
        match &self.pos {
            PosCode::None => w.meta("ccsep.pos", "none"),
            PosCode::Sinusoidal => w.meta("ccsep.pos", "sinusoidal"),
            PosCode::Table(t) => {
                w.matrix("pos.weight", t);
                w.meta("ccsep.pos", "table");
            }
        }
        for (l, b) in self.blocks.iter().enumerate() {
            let p = |s: &str| format!("layers.{l}.{s}");
            for (name, n) in [("ln1", &b.ln1), ("ln2", &b.ln2)] {
                if let Some(n) = n {
                    ln(w, &p(name), n);
                    eps = Some(n.eps);
                }
            }
            w.linear(&p("attn.q"), &b.q);
            w.linear(&p("attn.k"), &b.k);
            w.linear(&p("attn.v"), &b.v);
            w.linear(&p("attn.o"), &b.o);
            if let Some((f1, f2)) = &b.mlp {
                w.linear(&p("mlp.fc1"), f1);
                w.linear(&p("mlp.fc2"), f2);
            }
        }
        if let Some(n) = &self.ln_f {
            ln(w, "ln_f", n);
            eps = Some(n.eps);
        }
        if let Some(h) = &self.head {
            w.linear("head", h);
        }
        w.meta("ccsep.heads", self.heads);
        w.meta("ccsep.causal", self.causal);
        if !self.norm_first || self.activation != Activation::Relu {
            w.meta("ccsep.norm_first", self.norm_first);
            w.meta("ccsep.activation", self.activation.name());
        }
        w.meta("ccsep.ln_eps", eps.unwrap_or(DEFAULT_LN_EPS));
    }

    /// Random weights as PyTorch would initialise the same modules (layer norms at `w = 1`,
    /// `b = 0`, a learned table `N(0, 1)`-like uniform in `±1`).
    pub(crate) fn random(
        spec: &super::TransformerSpec,
        rng: &mut ChaCha8Rng,
    ) -> Result<Self, InputError> {
        let s = spec;
        let d = s.d_model;
        if s.heads == 0 || !d.is_multiple_of(s.heads.max(1)) {
            return Err(err(format!(
                "d_model = {d} must be a positive multiple of heads = {}",
                s.heads
            )));
        }
        let ln = || {
            s.layer_norm.then(|| LayerNorm {
                weight: vec![1.0; d],
                bias: vec![0.0; d],
                eps: DEFAULT_LN_EPS,
            })
        };
        let embed = Linear::random(s.input, d, true, rng);
        let pos = match s.pos {
            super::PosSpec::None => PosCode::None,
            super::PosSpec::Sinusoidal => PosCode::Sinusoidal,
            super::PosSpec::Learned { max_len } => {
                PosCode::Table(Matrix::uniform(max_len, d, 1.0, rng))
            }
        };
        let blocks = (0..s.layers)
            .map(|_| Block {
                ln1: ln(),
                q: Linear::random(d, d, true, rng),
                k: Linear::random(d, d, true, rng),
                v: Linear::random(d, d, true, rng),
                o: Linear::random(d, d, true, rng),
                ln2: ln(),
                mlp: s.d_ff.map(|f| {
                    (
                        Linear::random(d, f, true, rng),
                        Linear::random(f, d, true, rng),
                    )
                }),
            })
            .collect();
        let head = s.output.map(|o| Linear::random(d, o, true, rng));
        Transformer::new(embed, pos, blocks, ln(), head, s.heads, s.causal)
    }

    pub(crate) fn rounded(&self, ar: &Arith, stats: &mut Stats) -> Self {
        let ln = |n: &Option<LayerNorm>, stats: &mut Stats| {
            n.as_ref().map(|n| LayerNorm {
                weight: rounded_vec(&n.weight, ar, stats),
                bias: rounded_vec(&n.bias, ar, stats),
                eps: ar.round(n.eps, stats),
            })
        };
        let blocks = self
            .blocks
            .iter()
            .map(|b| Block {
                ln1: ln(&b.ln1, stats),
                q: b.q.rounded(ar, stats),
                k: b.k.rounded(ar, stats),
                v: b.v.rounded(ar, stats),
                o: b.o.rounded(ar, stats),
                ln2: ln(&b.ln2, stats),
                mlp: b
                    .mlp
                    .as_ref()
                    .map(|(f1, f2)| (f1.rounded(ar, stats), f2.rounded(ar, stats))),
            })
            .collect();
        Transformer {
            embed: self.embed.rounded(ar, stats),
            pos: match &self.pos {
                PosCode::Table(t) => PosCode::Table(t.rounded(ar, stats)),
                other => other.clone(),
            },
            blocks,
            ln_f: ln(&self.ln_f, stats),
            head: self.head.as_ref().map(|h| h.rounded(ar, stats)),
            heads: self.heads,
            causal: self.causal,
            norm_first: self.norm_first,
            activation: self.activation,
        }
    }

    /// Checks that the positional code covers `len` positions.
    pub(crate) fn check_len(&self, len: usize) -> Result<(), InputError> {
        match self.max_len() {
            Some(m) if len > m => Err(err(format!(
                "the input has {len} positions; the positional table covers {m}"
            ))),
            _ => Ok(()),
        }
    }

    /// The positional code at position `t`, rounded to the format.
    pub(crate) fn pos_row(&self, t: usize, ar: &Arith, stats: &mut Stats) -> Option<Vec<f64>> {
        match &self.pos {
            PosCode::None => None,
            PosCode::Table(m) => Some(m.row(t).to_vec()),
            PosCode::Sinusoidal => {
                let mut row = sinusoid(t, self.d_model());
                ar.round_slice(&mut row, stats);
                Some(row)
            }
        }
    }

    /// The forward pass of `L` lanes over `T = xs.len()` positions (`xs[t]` has `I · L` numbers,
    /// already rounded). Cost: `O(T · (params) · L + T² · d_model · L)` per layer.
    pub(crate) fn forward_lanes(
        &self,
        ar: &Arith,
        xs: &[Vec<f64>],
        lanes: usize,
        stats: &mut Stats,
    ) -> LaneTrace {
        self.forward_lanes_recording(ar, xs, lanes, None, stats)
    }

    /// One sequence's forward pass (`xs[t]` has `I` numbers, already rounded) and the attention
    /// weights it used, `weights[layer][head][t][j]`: the rounded softmax weight position `t`
    /// put on key `j` (`j ≤ t` when causal, every `j` otherwise), exactly the numbers the pass
    /// multiplied the values by. The pass is [`Transformer::forward_lanes`]' own, so its trace
    /// has the same bits.
    pub(crate) fn forward_with_attention(
        &self,
        ar: &Arith,
        xs: &[Vec<f64>],
        stats: &mut Stats,
    ) -> (LaneTrace, AttentionWeights) {
        let keys = |t: usize| if self.causal { t + 1 } else { xs.len() };
        let mut weights: AttentionWeights = self
            .blocks
            .iter()
            .map(|_| {
                (0..self.heads)
                    .map(|_| (0..xs.len()).map(|t| vec![0.0; keys(t)]).collect())
                    .collect()
            })
            .collect();
        let trace = self.forward_lanes_recording(ar, xs, 1, Some(&mut weights), stats);
        (trace, weights)
    }

    /// [`Transformer::forward_lanes`], copying each softmax row into `record` when one is given
    /// (one lane only: `Transformer::forward_with_attention` sizes it).
    fn forward_lanes_recording(
        &self,
        ar: &Arith,
        xs: &[Vec<f64>],
        lanes: usize,
        mut record: Option<&mut AttentionWeights>,
        stats: &mut Stats,
    ) -> LaneTrace {
        let (l, d, tn) = (lanes, self.d_model(), xs.len());
        let mut x: Vec<Vec<f64>> = Vec::with_capacity(tn);
        for (t, xt) in xs.iter().enumerate() {
            let mut e = vec![0.0; d * l];
            self.embed.apply(ar, xt, l, &mut e, stats);
            if let Some(p) = self.pos_row(t, ar, stats) {
                ar.add_bias(&mut e, &p, l, stats);
            }
            x.push(e);
        }
        let mut a = vec![0.0; d * l];
        let mut scores = Vec::new();
        let mut col = Vec::new();
        let mut small = vec![0.0; l];
        let mut finish = FinishBufs::default();
        for (layer, blk) in self.blocks.iter().enumerate() {
            let (qk, vd) = (blk.q.out_size(), blk.v.out_size());
            let (dk, dv) = (qk / self.heads, vd / self.heads);
            let scale = ar.round(1.0 / (dk as f64).sqrt(), stats);
            let mut q = vec![vec![0.0; qk * l]; tn];
            let mut k = vec![vec![0.0; qk * l]; tn];
            let mut v = vec![vec![0.0; vd * l]; tn];
            for t in 0..tn {
                let inp: &[f64] = match self.attn_norm(blk) {
                    Some(n) => {
                        layer_norm(ar, n, &x[t], l, &mut a, &mut small, stats);
                        &a
                    }
                    None => &x[t],
                };
                blk.q.apply(ar, inp, l, &mut q[t], stats);
                blk.k.apply(ar, inp, l, &mut k[t], stats);
                blk.v.apply(ar, inp, l, &mut v[t], stats);
            }
            let mut u = vec![0.0; vd * l];
            for t in 0..tn {
                let keys = if self.causal { t + 1 } else { tn };
                let s = buf(&mut scores, keys * l);
                for h in 0..self.heads {
                    let qh = &q[t][h * dk * l..(h + 1) * dk * l];
                    for (j, kj) in k.iter().enumerate().take(keys) {
                        let kh = &kj[h * dk * l..(h + 1) * dk * l];
                        ar.dot_lanes(qh, kh, l, &mut s[j * l..(j + 1) * l], stats);
                    }
                    ar.scale(s, scale, stats);
                    softmax_lanes(ar, s, l, &mut small, stats);
                    if let Some(rec) = record.as_deref_mut() {
                        rec[layer][h][t].copy_from_slice(s);
                    }
                    let c = buf(&mut col, keys * l);
                    for e in 0..dv {
                        let row = h * dv + e;
                        for (j, vj) in v.iter().enumerate().take(keys) {
                            c[j * l..(j + 1) * l].copy_from_slice(&vj[row * l..(row + 1) * l]);
                        }
                        ar.dot_lanes(s, c, l, &mut u[row * l..(row + 1) * l], stats);
                    }
                }
                // Position `t`'s attention read only the keys and values computed above, so
                // finishing its layer now changes nothing the later positions read.
                self.finish_layer(ar, blk, &u, &mut x[t], &mut finish, stats);
            }
        }
        let hidden: Vec<Vec<f64>> = x
            .iter()
            .map(|xt| self.final_hidden(ar, xt.clone(), &mut finish, stats))
            .collect();
        let outputs = hidden
            .iter()
            .map(|ht| self.head_output(ar, ht.clone(), stats))
            .collect();
        LaneTrace {
            states: x,
            hidden,
            outputs,
        }
    }
}

/// `pos_t[2i] = sin(t / 10000^(2i/d))`, `pos_t[2i+1] = cos(t / 10000^(2i/d))`, in `f64`.
pub fn sinusoid(t: usize, d: usize) -> Vec<f64> {
    (0..d)
        .map(|c| {
            let i2 = (c - c % 2) as f64;
            let angle = t as f64 / 10000f64.powf(i2 / d as f64);
            if c % 2 == 0 { angle.sin() } else { angle.cos() }
        })
        .collect()
}

/// In place over `s` (`[j][L]`): `round(e_j / Σ e)` with `e_j = round(exp(round(s_j − max s)))`.
pub(super) fn softmax_lanes(ar: &Arith, s: &mut [f64], l: usize, z: &mut [f64], stats: &mut Stats) {
    z.fill(f64::NEG_INFINITY);
    for row in s.chunks_exact(l) {
        for (m, &v) in z.iter_mut().zip(row) {
            *m = m.max(v);
        }
    }
    for row in s.chunks_exact_mut(l) {
        for (v, &m) in row.iter_mut().zip(z.iter()) {
            *v -= m;
        }
    }
    ar.round_slice(s, stats);
    ar.act(s, Act::Exp, stats);
    ar.sum_lanes(s, l, z, stats);
    for row in s.chunks_exact_mut(l) {
        for (v, &t) in row.iter_mut().zip(z.iter()) {
            *v /= t;
        }
    }
    ar.round_slice(s, stats);
}

/// `out = LN(x)` for `L` lanes; `tmp` holds `L` numbers.
pub(crate) fn layer_norm(
    ar: &Arith,
    n: &LayerNorm,
    x: &[f64],
    l: usize,
    out: &mut [f64],
    tmp: &mut [f64],
    stats: &mut Stats,
) {
    let d = n.weight.len() as f64;
    ar.sum_lanes(x, l, tmp, stats);
    tmp.iter_mut().for_each(|m| *m /= d);
    ar.round_slice(tmp, stats);
    for (o, xr) in out.chunks_exact_mut(l).zip(x.chunks_exact(l)) {
        for ((o, &xv), &m) in o.iter_mut().zip(xr).zip(tmp.iter()) {
            *o = xv - m;
        }
    }
    ar.round_slice(out, stats);
    ar.dot_lanes(out, out, l, tmp, stats);
    tmp.iter_mut().for_each(|v| *v /= d);
    ar.round_slice(tmp, stats);
    ar.add_scalar(tmp, n.eps, stats);
    ar.act(tmp, Act::Sqrt, stats);
    for o in out.chunks_exact_mut(l) {
        for (v, &s) in o.iter_mut().zip(tmp.iter()) {
            *v /= s;
        }
    }
    ar.round_slice(out, stats);
    ar.mul_rows(out, &n.weight, l, stats);
    ar.add_bias(out, &n.bias, l, stats);
}

// ---- Last-position outputs of many continuations of one prefix (keys and values cached). ----

/// Keys per block of the packed key panels (`scores_tile` names eight accumulators).
pub(super) const KEY_BLOCK: usize = 8;

/// A sequence for `Prepared::last_outputs`: a cached prefix of one-hot tokens with some of its
/// positions replaced, then one more token, whose output is computed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Continuation {
    /// `(position, token)`: the prefix's token at `position` is replaced by `token`. Positions
    /// are distinct and inside the prefix.
    pub edits: Vec<(usize, u32)>,
    /// The token after the prefix.
    pub last: u32,
}

/// One head's keys and values at the `n` positions of a prefix.
#[derive(Clone, Debug)]
struct HeadKv {
    /// Keys packed for the score product: block `jb` of `KEY_BLOCK` keys is `d_k · KEY_BLOCK`
    /// numbers, `panels[(jb·d_k + i)·KEY_BLOCK + c] = k_{jb·KEY_BLOCK + c}[i]`, zero past `n`.
    panels: Vec<f64>,
    /// Values transposed: `vt[e·n + j] = v_j[e]`.
    vt: Vec<f64>,
    n: usize,
}

/// The keys and values of every layer at the positions of a prefix of one-hot tokens.
#[derive(Clone, Debug)]
pub(crate) struct PrefixKv {
    tokens: Vec<u32>,
    /// `layers[l][h]`; empty when the prefix's keys depend on what follows it (full attention
    /// with two or more layers), where every continuation runs the plain forward pass.
    layers: Vec<Vec<HeadKv>>,
}

impl PrefixKv {
    pub(crate) fn tokens(&self) -> &[u32] {
        &self.tokens
    }
}

/// The key and value rows (`H·d_k`, `H·d_v`) of one-hot token `tok` at position `pos`, for
/// every distinct `(pos, tok)` the continuations replace.
struct EditTable {
    keys: Vec<(usize, u32)>,
    rows: Vec<(Vec<f64>, Vec<f64>)>,
}

impl EditTable {
    fn get(&self, e: &(usize, u32)) -> &(Vec<f64>, Vec<f64>) {
        &self.rows[self
            .keys
            .binary_search(e)
            .expect("every edit is in the table")]
    }
}

/// A replaced position of one continuation: its key and value rows (`H·d_k`, `H·d_v`).
struct EditRow<'a> {
    pos: usize,
    k: &'a [f64],
    v: &'a [f64],
}

/// Whether every product of two numbers of the format is exact in `f64` (at most 26
/// significant bits each, products inside the normal range), so that a fused multiply-add
/// gives the bits of a multiply then an add.
pub(super) fn fused_products(prec: &crate::numeric::Precision) -> bool {
    use crate::numeric::Format;
    match prec.format() {
        Format::Fixed {
            int_bits,
            frac_bits,
        } => int_bits + frac_bits <= 26,
        Format::Float {
            exp_bits, man_bits, ..
        } => man_bits < 26 && exp_bits <= 8,
        _ => false,
    }
}

/// The embedding of one-hot inputs from one column of `W_e`, with the bits `Linear::apply`
/// gives on the rounded one-hot vector.
///
/// Wide accumulation sums `W[r][k]·x[k]` from `−0.0` upward in `f64`: every term but the
/// token's is `W[r][k]·(+0)`, a zero that changes no nonzero sum, and a sum of zeros is `−0`
/// exactly when every term is `−0` (round to nearest never gives `−0` from a `+0` term). So the
/// sum is `p = W[r][t]·one` unless `p` is zero, and then `−0` exactly when `p` is `−0` and every
/// other weight of the row has its sign bit set. Format accumulation starts from `+0`, rounds
/// every product and partial sum, and rounding is idempotent on the grid, so the result is
/// `round(p)` unless that is zero, and then `+0`. Weights that are not finite (`∞ · 0` is NaN)
/// take the dense product.
struct OneHot<'a> {
    embed: &'a Linear,
    one: f64,
    negative: Vec<usize>,
    finite: bool,
}

impl<'a> OneHot<'a> {
    fn new(embed: &'a Linear, ar: &Arith, stats: &mut Stats) -> Self {
        let w = embed.weight();
        let negative = (0..w.rows())
            .map(|r| w.row(r).iter().filter(|x| x.is_sign_negative()).count())
            .collect();
        OneHot {
            embed,
            one: ar.round(1.0, stats),
            negative,
            finite: w.data().iter().all(|x| x.is_finite()),
        }
    }

    /// `out = round(round(W_e e_tok) + b)` (`out` has `d_model` numbers).
    fn apply(&self, ar: &Arith, tok: usize, out: &mut [f64], stats: &mut Stats) {
        use crate::numeric::Accumulate;
        let w = self.embed.weight();
        if !self.finite {
            let mut x = vec![0.0; w.cols()];
            x[tok] = self.one;
            self.embed.apply(ar, &x, 1, out, stats);
            return;
        }
        match ar.precision().accumulate() {
            Accumulate::Wide => {
                for (r, o) in out.iter_mut().enumerate() {
                    let wt = w.get(r, tok);
                    let p = wt * self.one;
                    *o = if p != 0.0 {
                        p
                    } else {
                        let others = self.negative[r] - usize::from(wt.is_sign_negative());
                        if p.is_sign_negative() && others == w.cols() - 1 {
                            -0.0
                        } else {
                            0.0
                        }
                    };
                }
                ar.round_slice(out, stats);
            }
            Accumulate::Format => {
                for (r, o) in out.iter_mut().enumerate() {
                    let t = ar.round(w.get(r, tok) * self.one, stats);
                    *o = if t != 0.0 { t } else { 0.0 };
                }
            }
        }
        if let Some(b) = self.embed.bias() {
            ar.add_bias(out, b, 1, stats);
        }
    }
}

/// `x[i·L + b] = rows[b][i]`.
fn to_lanes(rows: &[&[f64]], x: &mut [f64]) {
    let l = rows.len();
    for (b, r) in rows.iter().enumerate() {
        for (i, &v) in r.iter().enumerate() {
            x[i * l + b] = v;
        }
    }
}

/// Lane `b` of a lane-layout vector of `L` lanes.
fn lane(x: &[f64], l: usize, b: usize) -> Vec<f64> {
    x.iter().skip(b).step_by(l).copied().collect()
}

/// What [`Transformer::attend`] attends with: `L = l` queries `q` (`H·d_k · L`) over the first
/// `n` cached positions of `heads`, then (if given) each lane's `own` key and value
/// (`H·d_k · L`, `H·d_v · L`), with the positions in `edits[b]` replaced for lane `b`; the
/// scores scaled by `scale` (`fused`: the products are exact, see `fused_products`).
#[derive(Clone, Copy)]
struct Attend<'a> {
    heads: &'a [HeadKv],
    n: usize,
    q: &'a [f64],
    own: Option<(&'a [f64], &'a [f64])>,
    edits: &'a [Vec<EditRow<'a>>],
    l: usize,
    scale: f64,
    fused: bool,
}

/// Head `h` of a layer, its cached keys and values `kv`, `d_k` and `d_v`.
#[derive(Clone, Copy)]
struct Head<'a> {
    h: usize,
    kv: &'a HeadKv,
    dk: usize,
    dv: usize,
}

impl Attend<'_> {
    /// The attention weights of `head` in `s` (`[j·L + b]`, the cached positions, then the
    /// lanes' own): the scores (`raw_scores` in `Accumulate::Wide`, else rounded products and
    /// sums), the edited positions' scores replaced, scaled, `softmax_lanes`.
    fn weights(&self, ar: &Arith, head: Head, s: &mut [f64], small: &mut [f64], stats: &mut Stats) {
        use crate::numeric::Accumulate;
        let Attend {
            n,
            q,
            own,
            edits,
            l,
            scale,
            fused,
            ..
        } = *self;
        let Head { h, kv: hk, dk, .. } = head;
        let wide = ar.precision().accumulate() == Accumulate::Wide;
        let qh = &q[h * dk * l..(h + 1) * dk * l];
        // One score: lane `b` of `qh` against a key whose coordinate `i` is `key(i)`.
        let dot = |b: usize, key: &dyn Fn(usize) -> f64, st: &mut Stats| -> f64 {
            if wide {
                let mut acc = -0.0;
                for i in 0..dk {
                    acc += qh[i * l + b] * key(i);
                }
                acc
            } else {
                let mut acc = 0.0;
                for i in 0..dk {
                    let p = ar.round(qh[i * l + b] * key(i), st);
                    acc = ar.round(acc + p, st);
                }
                acc
            }
        };
        if wide {
            raw_scores(&hk.panels, dk, n, qh, l, &mut s[..n * l], fused);
        } else {
            for j in 0..n {
                let (jb, c) = (j / KEY_BLOCK, j % KEY_BLOCK);
                let key = |i: usize| hk.panels[(jb * dk + i) * KEY_BLOCK + c];
                for b in 0..l {
                    s[j * l + b] = dot(b, &key, stats);
                }
            }
        }
        if let Some((k, _)) = own {
            for b in 0..l {
                let key = |i: usize| k[(h * dk + i) * l + b];
                s[n * l + b] = dot(b, &key, stats);
            }
        }
        for (b, rows) in edits.iter().enumerate() {
            for r in rows {
                let key = |i: usize| r.k[h * dk + i];
                s[r.pos * l + b] = dot(b, &key, stats);
            }
        }
        if wide {
            ar.round_slice(s, stats);
        }
        ar.scale(s, scale, stats);
        softmax_lanes(ar, s, l, small, stats);
    }

    /// `u`'s rows of `head`: the weights `s` times the values (cached, edited, the lanes' own),
    /// one rounded dot product per row and lane, as `dot_lanes` sums; `col` is scratch.
    fn values(
        &self,
        ar: &Arith,
        head: Head,
        s: &[f64],
        (u, col): (&mut [f64], &mut Vec<f64>),
        stats: &mut Stats,
    ) {
        use crate::numeric::Accumulate;
        let Attend {
            n, own, edits, l, ..
        } = *self;
        let Head { h, kv: hk, dv, .. } = head;
        let wide = ar.precision().accumulate() == Accumulate::Wide;
        let keys = n + usize::from(own.is_some());
        // The positions some lane of the block replaces, in order.
        let mut marks: Vec<usize> = edits.iter().flatten().map(|r| r.pos).collect();
        marks.sort_unstable();
        marks.dedup();
        for e in 0..dv {
            let row = h * dv + e;
            let out = &mut u[row * l..(row + 1) * l];
            let value = |b: usize, j: usize| {
                edits
                    .get(b)
                    .and_then(|rows| rows.iter().find(|r| r.pos == j))
                    .map_or(hk.vt[e * hk.n + j], |r| r.v[row])
            };
            if wide {
                // `dot_lanes` (from −0.0, positions in order) without writing the column
                // of values out: a cached position has one value for every lane.
                out.fill(-0.0);
                let mut j0 = 0;
                for &m in marks.iter().chain([&n]) {
                    for j in j0..m {
                        let vj = hk.vt[e * hk.n + j];
                        for (o, &p) in out.iter_mut().zip(&s[j * l..(j + 1) * l]) {
                            *o += p * vj;
                        }
                    }
                    if m < n {
                        for (b, o) in out.iter_mut().enumerate() {
                            *o += s[m * l + b] * value(b, m);
                        }
                    }
                    j0 = m + 1;
                }
                if let Some((_, v)) = own {
                    for (b, o) in out.iter_mut().enumerate() {
                        *o += s[n * l + b] * v[row * l + b];
                    }
                }
                ar.round_slice(out, stats);
            } else {
                let c = buf(col, keys * l);
                for j in 0..n {
                    c[j * l..(j + 1) * l].fill(hk.vt[e * hk.n + j]);
                }
                for &m in &marks {
                    for b in 0..l {
                        c[m * l + b] = value(b, m);
                    }
                }
                if let Some((_, v)) = own {
                    c[n * l..(n + 1) * l].copy_from_slice(&v[row * l..(row + 1) * l]);
                }
                ar.dot_lanes(s, c, l, out, stats);
            }
        }
    }
}

/// Scratch buffers of one block of lanes.
#[derive(Default)]
struct Scratch {
    scores: Vec<f64>,
    col: Vec<f64>,
    small: Vec<f64>,
}

impl Transformer {
    /// Whether the keys and values at a prefix's positions, in every layer, do not depend on
    /// what follows the prefix: causal attention, or at most one layer (whose keys and values
    /// read only the embedding).
    fn prefix_reusable(&self) -> bool {
        self.causal || self.blocks.len() <= 1
    }

    /// The keys and values of every layer at the positions of `tokens` (one-hot inputs),
    /// computed with the operations of `forward_lanes`. Cost: the embedding of each position
    /// (one column of `W_e`), its key and value projections, and for the layers below the last
    /// the attention of each position over the earlier ones (`O(T²·d_k)` per layer); positions
    /// in parallel.
    pub(crate) fn prefix_kv(&self, ar: &Arith, tokens: &[u32], stats: &mut Stats) -> PrefixKv {
        use rayon::prelude::*;
        let mut kv = PrefixKv {
            tokens: tokens.to_vec(),
            layers: Vec::new(),
        };
        if !self.prefix_reusable() {
            return kv;
        }
        let (d, tn) = (self.d_model(), tokens.len());
        let oh = OneHot::new(&self.embed, ar, stats);
        let embedded: Vec<(Vec<f64>, Stats)> = (0..tn)
            .into_par_iter()
            .map(|t| {
                let mut st = Stats::default();
                let mut e = vec![0.0; d];
                oh.apply(ar, tokens[t] as usize, &mut e, &mut st);
                if let Some(p) = self.pos_row(t, ar, &mut st) {
                    ar.add_bias(&mut e, &p, 1, &mut st);
                }
                (e, st)
            })
            .collect();
        let mut x = Vec::with_capacity(tn);
        for (e, st) in embedded {
            x.push(e);
            stats.merge(st);
        }
        let starts: Vec<usize> = (0..tn).step_by(super::kernel::LANES).collect();
        for (li, blk) in self.blocks.iter().enumerate() {
            let top = li + 1 == self.blocks.len();
            let (qk, vd) = (blk.q.out_size(), blk.v.out_size());
            // Per block of positions, in lane layout: the layer's input, then q (below the top
            // layer), k and v, scattered back to one row per position.
            type Rows = (Vec<Vec<f64>>, Vec<Vec<f64>>, Vec<Vec<f64>>, Stats);
            let parts: Vec<Rows> = starts
                .par_iter()
                .map(|&s| {
                    let e = (s + super::kernel::LANES).min(tn);
                    let l = e - s;
                    let mut st = Stats::default();
                    let rows: Vec<&[f64]> = x[s..e].iter().map(Vec::as_slice).collect();
                    let mut xin = vec![0.0; d * l];
                    to_lanes(&rows, &mut xin);
                    let mut a = vec![0.0; d * l];
                    let mut small = vec![0.0; l];
                    let inp: &[f64] = match self.attn_norm(blk) {
                        Some(n) => {
                            layer_norm(ar, n, &xin, l, &mut a, &mut small, &mut st);
                            &a
                        }
                        None => &xin,
                    };
                    let mut k = vec![0.0; qk * l];
                    let mut v = vec![0.0; vd * l];
                    blk.k.apply(ar, inp, l, &mut k, &mut st);
                    blk.v.apply(ar, inp, l, &mut v, &mut st);
                    let mut q = vec![0.0; qk * l];
                    if !top {
                        blk.q.apply(ar, inp, l, &mut q, &mut st);
                    }
                    let split = |m: &[f64]| (0..l).map(|b| lane(m, l, b)).collect::<Vec<_>>();
                    let qs = if top { Vec::new() } else { split(&q) };
                    (split(&k), split(&v), qs, st)
                })
                .collect();
            let mut ks = Vec::with_capacity(tn);
            let mut vs = Vec::with_capacity(tn);
            let mut qs = Vec::with_capacity(tn);
            for (k, v, q, st) in parts {
                ks.extend(k);
                vs.extend(v);
                qs.extend(q);
                stats.merge(st);
            }
            let heads = self.pack_heads(blk, &ks, &vs);
            if !top {
                // Each position attends to itself and the positions before it (causal).
                let dk = qk / self.heads;
                let scale = ar.round(1.0 / (dk as f64).sqrt(), stats);
                let fused = fused_products(ar.precision());
                let next: Vec<(Vec<f64>, Stats)> = (0..tn)
                    .into_par_iter()
                    .map(|t| {
                        let mut st = Stats::default();
                        let mut sc = Scratch::default();
                        let mut u = vec![0.0; vd];
                        let input = Attend {
                            heads: &heads,
                            n: t + 1,
                            q: &qs[t],
                            own: None,
                            edits: &[],
                            l: 1,
                            scale,
                            fused,
                        };
                        self.attend(ar, blk, input, &mut u, &mut sc, &mut st);
                        let mut xt = x[t].clone();
                        self.finish_layer(
                            ar,
                            blk,
                            &u,
                            &mut xt,
                            &mut FinishBufs::default(),
                            &mut st,
                        );
                        (xt, st)
                    })
                    .collect();
                x.clear();
                for (xt, st) in next {
                    x.push(xt);
                    stats.merge(st);
                }
            }
            kv.layers.push(heads);
        }
        kv
    }

    /// Packs per-position key and value rows into one `HeadKv` per head.
    fn pack_heads(&self, blk: &Block, ks: &[Vec<f64>], vs: &[Vec<f64>]) -> Vec<HeadKv> {
        let n = ks.len();
        let (dk, dv) = (blk.q.out_size() / self.heads, blk.v.out_size() / self.heads);
        let nb = n.div_ceil(KEY_BLOCK);
        (0..self.heads)
            .map(|h| {
                let mut panels = vec![0.0; nb * dk * KEY_BLOCK];
                for (j, kj) in ks.iter().enumerate() {
                    let (jb, c) = (j / KEY_BLOCK, j % KEY_BLOCK);
                    for i in 0..dk {
                        panels[(jb * dk + i) * KEY_BLOCK + c] = kj[h * dk + i];
                    }
                }
                let mut vt = vec![0.0; dv * n];
                for (j, vj) in vs.iter().enumerate() {
                    for e in 0..dv {
                        vt[e * n + j] = vj[h * dv + e];
                    }
                }
                HeadKv { panels, vt, n }
            })
            .collect()
    }

    /// Attention as [`Attend`] describes it: writes `u` (`H·d_v · L`) with the operations and
    /// the order of `forward_lanes`.
    fn attend(
        &self,
        ar: &Arith,
        blk: &Block,
        input: Attend<'_>,
        u: &mut [f64],
        sc: &mut Scratch,
        stats: &mut Stats,
    ) {
        let (dk, dv) = (blk.q.out_size() / self.heads, blk.v.out_size() / self.heads);
        let keys = input.n + usize::from(input.own.is_some());
        let Scratch { scores, col, small } = sc;
        let small = buf(small, input.l);
        for (h, kv) in input.heads.iter().enumerate() {
            let head = Head { h, kv, dk, dv };
            let s = buf(scores, keys * input.l);
            input.weights(ar, head, s, small, stats);
            input.values(ar, head, s, (&mut *u, &mut *col), stats);
        }
    }

    /// The outputs at the last position of `kv`'s prefix (with each continuation's edits)
    /// followed by the continuation's token, for every continuation: bit for bit the last entry
    /// of `forward_lanes`' outputs on the same one-hot sequence. Tokens are checked by the
    /// caller (`Prepared::last_outputs`).
    ///
    /// Continuations run in blocks of 16 lanes, the blocks in parallel; each block multiplies
    /// its queries with the cached keys as a blocked matrix product (8 keys × 16 lanes in
    /// registers), so `C` continuations of a prefix of `T` positions cost about `C·T·d_k` per
    /// layer and head, plus their own projections. Edits are supported with one layer (with more
    /// layers they change the deeper keys of later positions); a continuation with edits in a
    /// deeper model, and every continuation of a prefix whose keys depend on what follows
    /// (full attention, two or more layers), runs the plain forward pass instead. `Stats` counts
    /// the events of the operations performed (fewer than a full forward pass) and is summed in
    /// a fixed order: nothing depends on the number of threads.
    pub(crate) fn last_outputs(
        &self,
        ar: &Arith,
        kv: &PrefixKv,
        items: &[Continuation],
        stats: &mut Stats,
    ) -> Vec<Vec<f64>> {
        use rayon::prelude::*;
        let deep = self.blocks.len() > 1;
        let plain = |c: &Continuation| {
            kv.layers.len() != self.blocks.len() || (deep && !c.edits.is_empty())
        };
        // Key and value rows of every distinct edit (one layer only).
        let mut wanted: Vec<(usize, u32)> = items
            .iter()
            .filter(|c| !plain(c))
            .flat_map(|c| c.edits.iter().copied())
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let oh = OneHot::new(&self.embed, ar, stats);
        type Rows = Vec<(Vec<f64>, Vec<f64>)>;
        let edit_rows: Vec<(Rows, Stats)> = match self.blocks.first() {
            Some(blk) if !wanted.is_empty() => wanted
                .par_chunks(super::kernel::LANES)
                .map(|chunk| {
                    let mut st = Stats::default();
                    let (d, l) = (self.d_model(), chunk.len());
                    let mut x = vec![0.0; d * l];
                    let mut e = vec![0.0; d];
                    for (b, &(pos, tok)) in chunk.iter().enumerate() {
                        oh.apply(ar, tok as usize, &mut e, &mut st);
                        if let Some(p) = self.pos_row(pos, ar, &mut st) {
                            ar.add_bias(&mut e, &p, 1, &mut st);
                        }
                        for (i, &v) in e.iter().enumerate() {
                            x[i * l + b] = v;
                        }
                    }
                    let mut a = vec![0.0; d * l];
                    let mut small = vec![0.0; l];
                    let inp: &[f64] = match self.attn_norm(blk) {
                        Some(n) => {
                            layer_norm(ar, n, &x, l, &mut a, &mut small, &mut st);
                            &a
                        }
                        None => &x,
                    };
                    let mut k = vec![0.0; blk.k.out_size() * l];
                    let mut v = vec![0.0; blk.v.out_size() * l];
                    blk.k.apply(ar, inp, l, &mut k, &mut st);
                    blk.v.apply(ar, inp, l, &mut v, &mut st);
                    let rows = (0..l).map(|b| (lane(&k, l, b), lane(&v, l, b))).collect();
                    (rows, st)
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut table = EditTable {
            rows: Vec::with_capacity(wanted.len()),
            keys: wanted,
        };
        for (r, st) in edit_rows {
            table.rows.extend(r);
            stats.merge(st);
        }
        let fused = fused_products(ar.precision());
        let results: Vec<(Vec<Vec<f64>>, Stats)> = items
            .par_chunks(super::kernel::LANES)
            .map(|chunk| {
                let mut st = Stats::default();
                let fast: Vec<&Continuation> = chunk.iter().filter(|c| !plain(c)).collect();
                let mut fast_out = if fast.is_empty() {
                    Vec::new()
                } else {
                    self.continue_lanes(ar, kv, &fast, (&oh, &table), fused, &mut st)
                }
                .into_iter();
                let outs = chunk
                    .iter()
                    .map(|c| {
                        if plain(c) {
                            self.plain_last(ar, kv, c, &mut st)
                        } else {
                            fast_out.next().expect("one output per fast continuation")
                        }
                    })
                    .collect();
                (outs, st)
            })
            .collect();
        let mut outs = Vec::with_capacity(items.len());
        for (o, st) in results {
            outs.extend(o);
            stats.merge(st);
        }
        outs
    }

    /// One continuation by the plain forward pass over its whole one-hot sequence.
    fn plain_last(
        &self,
        ar: &Arith,
        kv: &PrefixKv,
        c: &Continuation,
        stats: &mut Stats,
    ) -> Vec<f64> {
        let mut tokens = kv.tokens.clone();
        for &(p, t) in &c.edits {
            tokens[p] = t;
        }
        tokens.push(c.last);
        let one = ar.round(1.0, stats);
        let xs: Vec<Vec<f64>> = tokens
            .iter()
            .map(|&t| {
                let mut x = vec![0.0; self.input_size()];
                x[t as usize] = one;
                x
            })
            .collect();
        let mut lt = self.forward_lanes(ar, &xs, 1, stats);
        lt.outputs.pop().unwrap_or_default()
    }

    /// A block of at most 16 continuations through every layer at the last position.
    fn continue_lanes(
        &self,
        ar: &Arith,
        kv: &PrefixKv,
        items: &[&Continuation],
        (oh, table): (&OneHot, &EditTable),
        fused: bool,
        stats: &mut Stats,
    ) -> Vec<Vec<f64>> {
        let (l, d, tn) = (items.len(), self.d_model(), kv.tokens.len());
        let mut x = vec![0.0; d * l];
        let pos = self.pos_row(tn, ar, stats);
        let mut e = vec![0.0; d];
        for (b, c) in items.iter().enumerate() {
            oh.apply(ar, c.last as usize, &mut e, stats);
            if let Some(p) = &pos {
                ar.add_bias(&mut e, p, 1, stats);
            }
            for (i, &v) in e.iter().enumerate() {
                x[i * l + b] = v;
            }
        }
        let mut sc = Scratch::default();
        let mut finish = FinishBufs::default();
        let mut a = vec![0.0; d * l];
        let mut small = vec![0.0; l];
        for (li, blk) in self.blocks.iter().enumerate() {
            let (qk, vd) = (blk.q.out_size(), blk.v.out_size());
            let dk = qk / self.heads;
            let scale = ar.round(1.0 / (dk as f64).sqrt(), stats);
            let inp: &[f64] = match self.attn_norm(blk) {
                Some(n) => {
                    layer_norm(ar, n, &x, l, &mut a, &mut small, stats);
                    &a
                }
                None => &x,
            };
            let mut q = vec![0.0; qk * l];
            let mut k = vec![0.0; qk * l];
            let mut v = vec![0.0; vd * l];
            blk.q.apply(ar, inp, l, &mut q, stats);
            blk.k.apply(ar, inp, l, &mut k, stats);
            blk.v.apply(ar, inp, l, &mut v, stats);
            let edits: Vec<Vec<EditRow>> = if li == 0 {
                items
                    .iter()
                    .map(|c| {
                        c.edits
                            .iter()
                            .map(|ed| {
                                let (k, v) = table.get(ed);
                                EditRow { pos: ed.0, k, v }
                            })
                            .collect()
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let mut u = vec![0.0; vd * l];
            let input = Attend {
                heads: &kv.layers[li],
                n: tn,
                q: &q,
                own: Some((&k, &v)),
                edits: &edits,
                l,
                scale,
                fused,
            };
            self.attend(ar, blk, input, &mut u, &mut sc, stats);
            self.finish_layer(ar, blk, &u, &mut x, &mut finish, stats);
        }
        let out = self.final_output(ar, x, &mut finish, stats);
        (0..l).map(|b| lane(&out, l, b)).collect()
    }
}

multiversion! {
    /// Unrounded scores `out[j·L + b] = Σ_i q[i·L + b] · k_j[i]` of `L = lanes` queries (lane
    /// layout, `d_k · L` numbers) against the first `n` keys packed in `panels`: each summed in
    /// `f64` from `−0.0` in the order of `i`, as `Arith::dot_lanes` sums (`fused`: the products
    /// are exact, so a fused multiply-add gives the same bits). Cost: `⌈n/8⌉·8·d_k·L`
    /// multiply-adds, 8 keys × up to 16 lanes of accumulators in registers. Compiled for
    /// AVX-512 and AVX2 as well as the baseline (`kernel::multiversion`); the variants perform
    /// the same IEEE operations in the same order.
    pub(super) fn raw_scores<const FUSED: bool>(
        panels: &[f64],
        dk: usize,
        n: usize,
        q: &[f64],
        lanes: usize,
        out: &mut [f64],
    ) {
        scores_lanes::<FUSED>(panels, dk, n, q, lanes, out);
    }
}

/// `raw_scores` for any number of lanes: tiles of 16, 8, 4, 2 and 1 lanes.
#[inline(always)]
fn scores_lanes<const FUSED: bool>(
    panels: &[f64],
    dk: usize,
    n: usize,
    q: &[f64],
    lanes: usize,
    out: &mut [f64],
) {
    let mut b0 = 0;
    while b0 < lanes {
        let left = lanes - b0;
        b0 += if left >= 16 {
            scores_tile::<FUSED, 16>(panels, dk, n, q, lanes, b0, out);
            16
        } else if left >= 8 {
            scores_tile::<FUSED, 8>(panels, dk, n, q, lanes, b0, out);
            8
        } else if left >= 4 {
            scores_tile::<FUSED, 4>(panels, dk, n, q, lanes, b0, out);
            4
        } else if left >= 2 {
            scores_tile::<FUSED, 2>(panels, dk, n, q, lanes, b0, out);
            2
        } else {
            scores_tile::<FUSED, 1>(panels, dk, n, q, lanes, b0, out);
            1
        };
    }
}

/// Lanes `b0 … b0 + R − 1` of `raw_scores`.
#[inline(always)]
fn scores_tile<const FUSED: bool, const R: usize>(
    panels: &[f64],
    dk: usize,
    n: usize,
    q: &[f64],
    lanes: usize,
    b0: usize,
    out: &mut [f64],
) {
    for jb in 0..n.div_ceil(KEY_BLOCK) {
        let p = &panels[jb * dk * KEY_BLOCK..(jb + 1) * dk * KEY_BLOCK];
        // `acc[c][r]`: key `c` of the block against lane `b0 + r`. The lanes are the vector
        // dimension (contiguous in `q` and in `out`) and the eight keys are named, as the rows
        // of `kernel::matvec_block` are: written as loops, the compiler vectorises across the
        // keys with gathers instead (about 15 times slower).
        let mut acc = [[-0.0f64; R]; KEY_BLOCK];
        for i in 0..dk {
            let kv: &[f64; KEY_BLOCK] = p[i * KEY_BLOCK..(i + 1) * KEY_BLOCK]
                .try_into()
                .expect("one key block");
            let qi: &[f64; R] = q[i * lanes + b0..i * lanes + b0 + R]
                .try_into()
                .expect("R lanes");
            let [a0, a1, a2, a3, a4, a5, a6, a7] = &mut acc;
            for r in 0..R {
                let qv = qi[r];
                a0[r] = mul_acc::<FUSED>(a0[r], kv[0], qv);
                a1[r] = mul_acc::<FUSED>(a1[r], kv[1], qv);
                a2[r] = mul_acc::<FUSED>(a2[r], kv[2], qv);
                a3[r] = mul_acc::<FUSED>(a3[r], kv[3], qv);
                a4[r] = mul_acc::<FUSED>(a4[r], kv[4], qv);
                a5[r] = mul_acc::<FUSED>(a5[r], kv[5], qv);
                a6[r] = mul_acc::<FUSED>(a6[r], kv[6], qv);
                a7[r] = mul_acc::<FUSED>(a7[r], kv[7], qv);
            }
        }
        let keys = (n - jb * KEY_BLOCK).min(KEY_BLOCK);
        for (c, a) in acc.iter().enumerate().take(keys) {
            let j = jb * KEY_BLOCK + c;
            out[j * lanes + b0..j * lanes + b0 + R].copy_from_slice(a);
        }
    }
}

#[cfg(test)]
mod last_output_tests {
    use super::*;
    use crate::numeric::{Accumulate, Precision};

    /// The one-hot shortcut gives the bits of the dense product, signed zeros included.
    #[test]
    fn one_hot_embedding_equals_the_dense_product() {
        let rows = vec![
            vec![-1.0, -2.0, -0.0, -0.5],
            vec![-1.0, -2.0, 0.0, -0.5],
            vec![-0.0, -0.0, -0.0, -0.0],
            vec![0.0, -0.0, 0.0, 0.0],
            vec![0.25, -3.0, 1e-9, -1e-9],
            vec![300.0, -300.0, 0.1, 7.0],
        ];
        let inf = vec![vec![f64::INFINITY, 1.0, -0.0, 2.0]];
        for weights in [rows, inf] {
            for bias in [None, Some(vec![-0.0; weights.len()])] {
                let lin = Linear::new(Matrix::from_rows(&weights).unwrap(), bias).unwrap();
                for name in ["f64", "f32", "fixed:2.3", "fixed:0.4", "e4m3", "paper:1"] {
                    for acc in [Accumulate::Wide, Accumulate::Format] {
                        let prec = Precision::parse(name)
                            .unwrap()
                            .with_accumulate(acc)
                            .for_length(5)
                            .unwrap();
                        let ar = Arith::new(&prec).unwrap();
                        let mut st = Stats::default();
                        let lin = lin.rounded(&ar, &mut st);
                        let oh = OneHot::new(&lin, &ar, &mut st);
                        for tok in 0..4 {
                            let mut x = vec![0.0; 4];
                            x[tok] = 1.0;
                            ar.round_slice(&mut x, &mut st);
                            let mut want = vec![0.0; lin.out_size()];
                            lin.apply(&ar, &x, 1, &mut want, &mut st);
                            let mut got = vec![0.0; lin.out_size()];
                            oh.apply(&ar, tok, &mut got, &mut st);
                            let bits =
                                |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                            assert_eq!(bits(&got), bits(&want), "{name} {acc:?} token {tok}");
                        }
                    }
                }
            }
        }
    }
}
