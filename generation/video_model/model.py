"""STDiT: a small diffusion transformer over space-time patches.

The clip (T, H, W, 3) is cut into cuboid patches of ``patch_t`` frames by ``patch_hw`` x
``patch_hw`` pixels; every patch is a token and attention runs across the whole clip (all
tokens attend to all, "full" space-time attention) or, as an option, factorised into spatial
then temporal attention. Conditioning:

* the prompt's sentence embedding (384-d MiniLM) and the diffusion time enter every block
  through adaLN-Zero modulation (as in DiT);
* each cameo reference image (up to two) becomes ``(ref_size / patch_hw)^2`` extra tokens in the
  same sequence, so attention can copy its texture to wherever the sprite is drawn;
* known frames (extension context, remix anchors) enter clean, flagged per temporal slice by
  a learned "clean" embedding; the model then only has to fill in the other slices.

The network predicts the clean clip x0 ("x-prediction"); the rectified-flow velocity
``v = noise - x0`` follows as ``(x_t - x0) / t``. Predicting x0 rather than v matters here: a
4x4x4 patch holds 192 numbers but the token is narrower, and noise (full-rank) cannot pass
such a bottleneck while clean clips (low-dimensional) can; a v-predicting model leaves the
noise it cannot see in the sample (Li & He, "Back to Basics: Let Denoising Generative Models
Denoise", 2025).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

MIN_T = 0.05  # x0 -> v divides by t; below this the division would amplify errors too much


@dataclass
class ModelConfig:
    frames: int = 32
    size: int = 32
    fps: int = 8
    channels: int = 3
    patch_t: int = 4
    patch_hw: int = 4
    dim: int = 128
    depth: int = 6
    heads: int = 4
    mlp_ratio: float = 4.0
    text_dim: int = 384
    ref_size: int = 16
    max_cameos: int = 2
    attention: str = "full"  # "full" | "factorized"

    @property
    def grid(self) -> tuple[int, int, int]:
        return self.frames // self.patch_t, self.size // self.patch_hw, self.size // self.patch_hw

    @property
    def patch_dim(self) -> int:
        return self.patch_t * self.patch_hw * self.patch_hw * self.channels

    @property
    def ref_tokens(self) -> int:
        return (self.ref_size // self.patch_hw) ** 2

    @property
    def tokens(self) -> int:
        gt, gh, gw = self.grid
        return gt * gh * gw

    def as_dict(self) -> dict:
        return asdict(self)


def patchify(video: torch.Tensor, cfg: ModelConfig) -> torch.Tensor:
    """(B, T, H, W, C) -> (B, N, patch_dim), tokens in (t, h, w) order."""
    b = video.shape[0]
    gt, gh, gw = cfg.grid
    pt, p = cfg.patch_t, cfg.patch_hw
    x = video.reshape(b, gt, pt, gh, p, gw, p, cfg.channels)
    x = x.permute(0, 1, 3, 5, 2, 4, 6, 7)
    return x.reshape(b, gt * gh * gw, cfg.patch_dim)


def unpatchify(tokens: torch.Tensor, cfg: ModelConfig) -> torch.Tensor:
    """(B, N, patch_dim) -> (B, T, H, W, C); the inverse of :func:`patchify`."""
    b = tokens.shape[0]
    gt, gh, gw = cfg.grid
    pt, p = cfg.patch_t, cfg.patch_hw
    x = tokens.reshape(b, gt, gh, gw, pt, p, p, cfg.channels)
    x = x.permute(0, 1, 4, 2, 5, 3, 6, 7)
    return x.reshape(b, cfg.frames, cfg.size, cfg.size, cfg.channels)


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of t in [0, 1] (scaled by 1000, as DiT does for its steps)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / half)
    args = (t.float() * 1000.0)[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale[:, None]) + shift[:, None]


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        # QK-norm keeps attention logits tame at high learning rates.
        self.q_norm = nn.RMSNorm(dim // heads, eps=1e-6)
        self.k_norm = nn.RMSNorm(dim // heads, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = self.q_norm(qkv[0]), self.k_norm(qkv[1]), qkv[2]
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    """A DiT block with adaLN-Zero; full or factorised (spatial, then temporal) attention."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        d = cfg.dim
        self.cfg = cfg
        self.norm1 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(d, cfg.heads)
        self.norm2 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        hidden = int(d * cfg.mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(d, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, d))
        n_mod = 6
        if cfg.attention == "factorized":
            self.norm_t = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
            self.attn_t = Attention(d, cfg.heads)
            n_mod = 9
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(d, n_mod * d))
        nn.init.zeros_(self.ada[1].weight)
        nn.init.zeros_(self.ada[1].bias)

    def _attend(self, h: torch.Tensor, n_video: int) -> torch.Tensor:
        if self.cfg.attention == "full":
            return self.attn(h)
        # Factorised: video tokens attend within their frame-slab plus the cameo tokens.
        b, _n, d = h.shape
        gt, gh, gw = self.cfg.grid
        vid, extra = h[:, :n_video], h[:, n_video:]
        frames = vid.reshape(b * gt, gh * gw, d)
        extra_rep = extra.repeat_interleave(gt, dim=0)
        out = self.attn(torch.cat([frames, extra_rep], dim=1))
        vid_out = out[:, : gh * gw].reshape(b, n_video, d)
        extra_out = out[:, gh * gw :].reshape(b, gt, -1, d).mean(1)
        return torch.cat([vid_out, extra_out], dim=1)

    def _attend_time(self, h: torch.Tensor, n_video: int) -> torch.Tensor:
        b, _n, d = h.shape
        gt, gh, gw = self.cfg.grid
        vid = h[:, :n_video].reshape(b, gt, gh * gw, d).transpose(1, 2).reshape(b * gh * gw, gt, d)
        out = self.attn_t(vid).reshape(b, gh * gw, gt, d).transpose(1, 2).reshape(b, n_video, d)
        return torch.cat([out, torch.zeros_like(h[:, n_video:])], dim=1)

    def forward(self, x: torch.Tensor, c: torch.Tensor, n_video: int) -> torch.Tensor:
        mods = self.ada(c).chunk(9 if self.cfg.attention == "factorized" else 6, dim=-1)
        s1, sc1, g1, s2, sc2, g2 = mods[:6]
        x = x + g1[:, None] * self._attend(modulate(self.norm1(x), s1, sc1), n_video)
        if self.cfg.attention == "factorized":
            s3, sc3, g3 = mods[6:]
            x = x + g3[:, None] * self._attend_time(modulate(self.norm_t(x), s3, sc3), n_video)
        x = x + g2[:, None] * self.mlp(modulate(self.norm2(x), s2, sc2))
        return x


class STDiT(nn.Module):
    """Space-time diffusion transformer; see the module docstring."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.config = cfg
        d = cfg.dim
        gt, gh, gw = cfg.grid
        self.patch_in = nn.Linear(cfg.patch_dim, d)
        self.clean_emb = nn.Parameter(torch.randn(d) * 0.02)  # marks slices given clean
        self.pos_t = nn.Parameter(torch.randn(gt, d) * 0.02)
        self.pos_s = nn.Parameter(torch.randn(gh * gw, d) * 0.02)
        ref_patch = cfg.patch_hw * cfg.patch_hw * cfg.channels
        self.ref_in = nn.Linear(ref_patch, d)
        self.ref_pos = nn.Parameter(torch.randn(cfg.ref_tokens, d) * 0.02)
        self.ref_slot = nn.Parameter(torch.randn(cfg.max_cameos, d) * 0.02)
        self.ref_empty = nn.Parameter(torch.randn(cfg.max_cameos, d) * 0.02)
        self.t_mlp = nn.Sequential(nn.Linear(256, d), nn.SiLU(), nn.Linear(d, d))
        self.text_mlp = nn.Sequential(nn.Linear(cfg.text_dim, d), nn.SiLU(), nn.Linear(d, d))
        self.null_text = nn.Parameter(torch.zeros(cfg.text_dim))
        # Per-dimension standardisation of the sentence embedding over the training captions
        # (set by training, saved with the weights): raw MiniLM vectors are unit-norm with
        # ~0.05 per dimension, so without it the prompt starts ~15x weaker than the time.
        self.register_buffer("text_mean", torch.zeros(cfg.text_dim))
        self.register_buffer("text_scale", torch.ones(cfg.text_dim))
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
        self.norm_out = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.ada_out = nn.Sequential(nn.SiLU(), nn.Linear(d, 2 * d))
        self.patch_out = nn.Linear(d, cfg.patch_dim)
        self._init()

    def _init(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear) and m.weight.requires_grad:
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        for blk in self.blocks:
            nn.init.zeros_(blk.ada[1].weight)
            nn.init.zeros_(blk.ada[1].bias)
        for lin in (self.ada_out[1], self.patch_out):
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)

    def ref_tokens(self, refs: torch.Tensor, n_refs: torch.Tensor) -> torch.Tensor:
        """refs (B, K, R, R, 3) in [-1, 1], n_refs (B,) -> (B, K * ref_tokens, d)."""
        cfg = self.config
        b, k, r = refs.shape[:3]
        p = cfg.patch_hw
        g = r // p
        x = refs.reshape(b, k, g, p, g, p, 3).permute(0, 1, 2, 4, 3, 5, 6)
        x = self.ref_in(x.reshape(b, k, g * g, p * p * 3)) + self.ref_pos
        present = torch.arange(k, device=refs.device)[None] < n_refs[:, None]  # (B, K)
        slot = torch.where(present[..., None], self.ref_slot[None, :k], self.ref_empty[None, :k])
        x = torch.where(present[..., None, None], x, torch.zeros_like(x)) + slot[:, :, None]
        return x.reshape(b, k * g * g, -1)

    def forward(
        self,
        x_t: torch.Tensor,
        t: torch.Tensor,
        text: torch.Tensor,
        refs: torch.Tensor,
        n_refs: torch.Tensor,
        clean: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict the clean clip x0 for every pixel (see :meth:`velocity`).

        x_t (B, T, H, W, 3) noisy clip in [-1, 1]; t (B,) in [0, 1]; text (B, 384) (pass
        ``null_text`` for the unconditional branch of classifier-free guidance); refs
        (B, K, R, R, 3) in [-1, 1] with n_refs (B,) of them present; clean (B, T / patch_t) bool:
        temporal slices whose frames in x_t are given clean (known frames to continue from).
        """
        cfg = self.config
        b = x_t.shape[0]
        gt, gh, gw = cfg.grid
        h = self.patch_in(patchify(x_t, cfg))
        pos = (self.pos_t[:, None, :] + self.pos_s[None, :, :]).reshape(1, -1, cfg.dim)
        h = h + pos
        if clean is not None:
            flag = clean.to(h.dtype)[:, :, None].expand(b, gt, gh * gw).reshape(b, -1, 1)
            h = h + flag * self.clean_emb
        n_video = h.shape[1]
        h = torch.cat([h, self.ref_tokens(refs, n_refs).to(h.dtype)], dim=1)
        text = (text.to(h.dtype) - self.text_mean.to(h.dtype)) / self.text_scale.to(h.dtype)
        c = self.t_mlp(timestep_embedding(t, 256).to(h.dtype)) + self.text_mlp(text)
        for blk in self.blocks:
            h = blk(h, c, n_video)
        shift, scale = self.ada_out(c).chunk(2, dim=-1)
        out = self.patch_out(modulate(self.norm_out(h[:, :n_video]), shift, scale))
        return unpatchify(out, cfg)

    def velocity(
        self,
        x_t: torch.Tensor,
        t: torch.Tensor,
        text: torch.Tensor,
        refs: torch.Tensor,
        n_refs: torch.Tensor,
        clean: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The rectified-flow velocity ``(x_t - x0_hat) / t`` from the x0 prediction."""
        x0 = self(x_t, t, text, refs, n_refs, clean)
        return (x_t - x0) / t.clamp_min(MIN_T).to(x0.dtype)[:, None, None, None, None]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
