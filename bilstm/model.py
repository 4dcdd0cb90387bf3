"""The network: a (bi)directional LSTM/GRU encoder, a pooling read-out and an MLP head (tensors only).

Defaults are the architecture of the blog article behind the project (docs/concepts/design.md: 2 bidirectional
LSTM layers of 64, head 2*64 -> 20 -> horizon), with that article's flaws fixed: zero initial states, dropout
applied, the read-out taken from each direction's final hidden state instead of `out[:, -1]`, and no global
device. Options that matter on ETT-like data: per-window instance normalisation (`last` or `revin`), a linear
highway beside the recurrent path (LSTNet), channel independence (each channel a univariate series through one
shared network, as PatchTST and SegRNN do), and segments: the recurrence steps over embedded segments of
`patch_len` rows instead of single rows (SegRNN), which makes long lookbacks affordable.

Dimensions: B batch, L lookback, F input features, H hidden size, D directions, T horizon, k targets,
P patch length, S = L / P segments, C channels.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from bilstm.config import ModelConfig
from bilstm.ridge import PENALTIES, fit_ridge

_EPS = 1e-5
# the MAD of normal data times this is its standard deviation (1 / the normal's 0.75 quantile)
_MAD_TO_STD = 1.4826
_MAX_LOG_RATIO = 20.0  # log_ratio outputs are capped here before exp: e^20 times the window's mean


class BiLSTMNet(nn.Module):
    """(B, L, F) inputs whose last `n_targets` features are the targets -> (B, T) or (B, T, k) forecasts."""

    def __init__(
        self,
        config: ModelConfig,
        input_size: int,
        n_targets: int,
        horizon: int,
        lookback: int,
        n_series: int = 0,
        future: Sequence[int] = (),
        calendar: Sequence[int] = (),
        statics: Sequence[int] = (),
    ) -> None:
        """`future`, `calendar`: the input columns known in advance (data.future, and the columns of
        data.calendar), whose values over the horizon follow each window's lookback rows in the inputs:
        (B, L + T, F) instead of (B, L, F). `statics`: per static column (data.static), 0 for a numeric one,
        else its number of categories (`bilstm.statics.StaticEncoding.sizes`)."""
        super().__init__()
        if not 1 <= n_targets <= input_size:
            raise ValueError(f"n_targets must be in [1, input_size={input_size}], got {n_targets}")
        if config.channel_independent and n_targets != input_size:
            raise ValueError(
                "model.channel_independent needs every input column to be a target (data.setting S or M);"
                f" got {input_size} inputs and {n_targets} targets"
            )
        if config.patch_len is None:
            raise ValueError(
                "model.patch_len is unset (auto): resolve it from the data first (bilstm.defaults.resolve)"
                " or set it"
            )
        known = [*future, *calendar]
        if known and config.channel_independent:
            raise ValueError("model.channel_independent cannot read covariates known in advance")
        self.config = config
        self.input_size, self.n_targets, self.horizon = input_size, n_targets, horizon
        self.lookback, self.known, self.future_columns = lookback, known, len(future)
        # the network's own view: one univariate channel at a time when channel-independent
        self.channels, self.outputs = (1, 1) if config.channel_independent else (input_size, n_targets)
        # a lookback shorter than one segment is one segment; the recurrent path reads the last whole
        # segments of a longer one (the highway still reads every row)
        self.patch_len = min(config.patch_len, lookback)
        self.segments = lookback // self.patch_len
        step_size = self.channels * self.patch_len
        self.embed = None
        if self.patch_len > 1:
            self.embed = nn.Sequential(nn.Linear(step_size, config.hidden_size), nn.ReLU())
            step_size = config.hidden_size
        rnn = nn.LSTM if config.cell == "lstm" else nn.GRU
        self.rnn = rnn(
            step_size,
            config.hidden_size,
            num_layers=config.num_layers,
            batch_first=True,
            bidirectional=config.bidirectional,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        self.directions = 2 if config.bidirectional else 1
        width = self.directions * config.hidden_size
        self.attention = nn.Linear(width, 1) if config.pooling == "attention" else None
        self.dropout = nn.Dropout(config.dropout)
        # one learned vector per series known at training time, read by the head beside the pooled state
        self.series_embedding = None
        if config.series_embedding and n_series:
            self.series_embedding = nn.Embedding(n_series, config.series_embedding)
            width += config.series_embedding
        # each series' static columns, read beside the pooled state: numerics as given, categories embedded
        self.statics = StaticEmbedding(statics) if statics else None
        if self.statics is not None:
            width += self.statics.width
        self.head = nn.Sequential(
            nn.Linear(width, config.head_size), nn.ReLU(), nn.Linear(config.head_size, horizon * self.outputs)
        )
        # one linear map shared by all targets (channel-independent), applied to the normalised inputs and
        # the horizon's known covariates
        self.highway = nn.Linear(lookback + horizon * len(known), horizon) if config.highway else None
        self.future = FutureDecoder(config, len(known), width, self.outputs) if known else None
        if config.instance_norm in ("revin", "robust"):
            self.revin_weight = nn.Parameter(torch.ones(self.channels))
            self.revin_bias = nn.Parameter(torch.zeros(self.channels))

    def forward(
        self, x: torch.Tensor, series: torch.Tensor | None = None, static: torch.Tensor | None = None
    ) -> torch.Tensor:
        """`series`: (B,) the windows' series numbers, for a series embedding (None or -1: a series not seen
        in training, which gets the mean vector); `static`: (B, D) the windows' static columns, encoded
        (`bilstm.statics.StaticEncoding.encode`), for a model with static columns."""
        vectors = self._series_vectors(series, x.shape[0])
        if self.statics is not None:
            if static is None:
                raise ValueError("this network reads static columns: pass each window's (B, D) values")
            own = self.statics(static)
            vectors = own if vectors is None else torch.cat([vectors, own], dim=1)
        if not self.config.channel_independent:
            y = self._forward(x, vectors)
        else:
            batch, _, channels = x.shape
            if vectors is not None:
                vectors = vectors.repeat_interleave(channels, dim=0)
            y = self._forward(_channels_as_batch(x), vectors)
            # y (B*C, T, 1) -> (B, T, C)
            y = y.view(batch, channels, self.horizon).transpose(1, 2)
        return y.squeeze(-1) if self.n_targets == 1 else y

    def _series_vectors(self, series: torch.Tensor | None, batch: int) -> torch.Tensor | None:
        """(B, E) embedding vectors: the mean one where the series is unknown (None, or -1)."""
        if self.series_embedding is None:
            return None
        mean = self.series_embedding.weight.mean(dim=0)
        if series is None:
            return mean.expand(batch, -1)
        known = series >= 0
        vectors = self.series_embedding(series.clamp(min=0))
        return torch.where(known[:, None], vectors, mean)

    def _forward(self, x: torch.Tensor, vectors: torch.Tensor | None = None) -> torch.Tensor:
        """(B, L, F) (or (B, L + T, F) with known covariates) -> (B, T, k) in the network's own view of
        channels."""
        x, ahead = self._split_ahead(x)
        x, denormalize, ahead, _ = self._normalize(x, ahead)
        steps = x
        if self.embed is not None:
            batch, _, channels = x.shape
            rows = self.segments * self.patch_len
            steps = self.embed(x[:, -rows:].reshape(batch, self.segments, self.patch_len * channels))
            # (B, S*P, F) -> (B, S, P*F) -> (B, S, H): consecutive rows of all channels form one segment
        out, state = self.rnn(steps)
        # out -> (B, L or S, D*H); state: h_n (or (h_n, c_n)) with h_n (num_layers*D, B, H)
        pooled = self._pool(out, state[0] if isinstance(state, tuple) else state)
        # pooled -> (B, D*H)
        if vectors is not None:
            pooled = torch.cat([pooled, vectors], dim=1)
            # -> (B, D*H + E + static width)
        pooled = self.dropout(pooled)
        y = self.head(pooled).view(-1, self.horizon, self.outputs)
        # y -> (B, T, k)
        if self.future is not None:
            y = y + self.future(ahead, pooled)
        if self.highway is not None:
            y = y + self.highway(self._highway_rows(x, ahead)).transpose(1, 2)
            # (B, k, L + T*K) -> (B, k, T) -> (B, T, k)
        return denormalize(y)

    def _split_ahead(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, L, F) lookback rows, and (B, T, K) the known columns over the horizon (None without): the
        horizon's other columns, the targets among them, are never read. A window with more lookback rows
        than L (an ensemble's members of shorter lookbacks read the longest one's windows) is read by its
        last L."""
        if not self.known:
            return x[:, -self.lookback :], None
        lookback_end = x.shape[1] - self.horizon
        return x[:, lookback_end - self.lookback : lookback_end], x[:, lookback_end:, self.known]

    def _highway_rows(self, normalised: torch.Tensor, ahead: torch.Tensor | None) -> torch.Tensor:
        """(B, k, L (+ T*K)): each target's normalised lookback, followed by the horizon's known covariates
        (the same for every target of a window)."""
        rows = normalised[..., -self.outputs :].transpose(1, 2)
        if ahead is None:
            return rows
        flat = ahead.reshape(len(ahead), 1, -1).expand(-1, rows.shape[1], -1)
        return torch.cat([rows, flat], dim=2)

    @torch.no_grad()
    def fit_highway(
        self,
        train: Iterable[tuple[torch.Tensor, ...]],
        validation: Iterable[tuple[torch.Tensor, ...]] = (),
        penalties: Sequence[float] = PENALTIES,
    ) -> float:
        """Set the linear highway to the ridge regression of the normalised targets on the normalised
        input windows (`bilstm.ridge`) and silence the head, so training starts from the best linear
        forecaster and the recurrent path learns what is left (training then moves every weight).

        Args:
            train: (inputs (B, L, F), targets (B, T) or (B, T, k)) batches to fit on.
            validation: batches that pick the penalty with the lowest MSE; without any, the first is used.
            penalties: ridge penalties per window and channel (scale-free in the number of windows).

        Returns:
            The penalty used.
        """
        if self.highway is None:
            raise ValueError("model.highway is off: there is no linear map to fit")
        fit = fit_ridge(
            (self._linear_problem(*batch) for batch in train),
            (self._linear_problem(*batch) for batch in validation),
            penalties,
        )
        self.highway.weight.copy_(fit.weight.T.float())
        self.highway.bias.copy_(fit.bias.float())
        # the recurrent paths start silent, so training starts exactly at the linear fit; a zeroed output
        # layer gets gradients from the first step, and the layers below it from the second
        for layer in [self.head[-1]] + ([] if self.future is None else [self.future.out]):
            layer.weight.zero_()
            layer.bias.zero_()
        return fit.penalty

    def _linear_problem(self, inputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The highway's regression rows: normalised windows x (B*k, L (+ T*K)) and normalised targets
        y (B*k, T)."""
        width, horizon = self.highway.in_features, self.horizon
        inputs, targets = inputs.cpu(), targets.cpu().reshape(len(targets), horizon, -1)
        if self.config.channel_independent:
            inputs, targets = _channels_as_batch(inputs), _channels_as_batch(targets)
        inputs, ahead = self._split_ahead(inputs)
        normalised, _, ahead, normalize_targets = self._normalize(inputs, ahead)
        x = self._highway_rows(normalised, ahead).reshape(-1, width).double()
        y = normalize_targets(targets).transpose(1, 2).reshape(-1, horizon).double()
        return x, y

    def _pool(self, out: torch.Tensor, h_n: torch.Tensor) -> torch.Tensor:
        if self.config.pooling == "mean":
            return out.mean(dim=1)
        if self.attention is not None:
            weights = torch.softmax(self.attention(out), dim=1)
            # weights -> (B, L, 1)
            return (weights * out).sum(dim=1)
        # the top layer's final state of each direction: the backward one has read the whole window
        last = h_n[-self.directions :]
        # last -> (D, B, H) -> (B, D*H)
        return last.transpose(0, 1).reshape(out.shape[0], -1)

    def _normalize(self, x: torch.Tensor, ahead: torch.Tensor | None = None):
        """Per-window normalisation of the inputs, the function that undoes it on the outputs, the
        horizon's known covariates, and the function that normalises targets as the outputs are (the
        warm start's regression targets): the future columns normalised as the same columns of the
        lookback are (tomorrow's load against this week's, as the price is), the calendar's as they are
        (bounded, and often constant over a window)."""
        k, future = self.outputs, self.known[: self.future_columns]
        norm = self.config.instance_norm
        if norm == "log_ratio":
            mean = x.detach().mean(dim=1, keepdim=True).clamp(min=_EPS)
            # mean -> (B, 1, F); a value at or below 0 (which the data checks refuse) reads as _EPS
            if ahead is not None:
                ratio = torch.log(ahead[..., : len(future)].clamp(min=_EPS) / mean[..., future])
                ahead = torch.cat([ratio, ahead[..., len(future) :]], 2)
            return (
                torch.log(x.clamp(min=_EPS) / mean),
                lambda y: torch.exp(y.clamp(max=_MAX_LOG_RATIO)) * mean[..., -k:],
                ahead,
                lambda y: torch.log(y.clamp(min=_EPS) / mean[..., -k:]),
            )
        if norm == "last":
            last = x[:, -1:, :].detach()
            # last -> (B, 1, F)
            if ahead is not None:
                ahead = torch.cat(
                    [ahead[..., : len(future)] - last[..., future], ahead[..., len(future) :]], 2
                )
            return x - last, lambda y: y + last[..., -k:], ahead, lambda y: y - last[..., -k:]
        if norm in ("revin", "robust"):
            mean, std = _window_statistics(x.detach(), robust=norm == "robust")
            # mean, std -> (B, 1, F)
            x = (x - mean) / std * self.revin_weight + self.revin_bias
            if ahead is not None:
                weight, bias = self.revin_weight[future], self.revin_bias[future]
                scaled = (ahead[..., : len(future)] - mean[..., future]) / std[..., future] * weight + bias
                ahead = torch.cat([scaled, ahead[..., len(future) :]], 2)
            weight, bias = self.revin_weight[-k:], self.revin_bias[-k:]
            centre, spread = mean[..., -k:], std[..., -k:]
            return (
                x,
                lambda y: (y - bias) / (weight + _EPS) * spread + centre,
                ahead,
                lambda y: (y - centre) / spread * (weight + _EPS) + bias,
            )
        return x, lambda y: y, ahead, lambda y: y


def _window_statistics(x: torch.Tensor, robust: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, L, F) windows -> each window's centre and spread per column, (B, 1, F) each: mean and deviation,
    or (robust) median and median absolute deviation scaled to match the deviation of normal data; where
    half a window is one value (a series at zero most of the time) the MAD is 0 and the deviation stands in,
    so the other rows are not divided by almost nothing."""
    std = torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) + _EPS)
    if not robust:
        return x.mean(dim=1, keepdim=True), std
    median = x.median(dim=1, keepdim=True).values
    mad = (x - median).abs().median(dim=1, keepdim=True).values * _MAD_TO_STD
    return median, torch.where(mad > _EPS, mad, std)


class StaticEmbedding(nn.Module):
    """(B, D) encoded static columns -> (B, W): numeric ones as they come (standardised over the training
    series), each categorical one a learned vector of min(8, max(2, (categories + 1) // 2)), the mean vector
    for a category unknown in training (-1)."""

    def __init__(self, sizes: Sequence[int]) -> None:
        super().__init__()
        self.numeric = [j for j, size in enumerate(sizes) if size == 0]
        self.categorical = [j for j, size in enumerate(sizes) if size > 0]
        self.embeddings = nn.ModuleList(
            nn.Embedding(sizes[j], min(8, max(2, (sizes[j] + 1) // 2))) for j in self.categorical
        )
        self.width = len(self.numeric) + sum(e.embedding_dim for e in self.embeddings)

    def forward(self, static: torch.Tensor) -> torch.Tensor:
        parts = [static[:, self.numeric].float()]
        for j, embedding in zip(self.categorical, self.embeddings, strict=True):
            codes = static[:, j].round().long()
            vectors = embedding(codes.clamp(min=0))
            parts.append(torch.where((codes >= 0)[:, None], vectors, embedding.weight.mean(dim=0)))
        return torch.cat(parts, dim=1)


class FutureDecoder(nn.Module):
    """The horizon's known covariates read beside the window's summary: (B, T, K) and (B, W) -> (B, T, k).
    `lstm`: a bidirectional LSTM over the horizon's steps, so each step sees the covariates before and after
    it (a holiday tomorrow changes today's evening); `mlp`: each step on its own (TiDE's decoder)."""

    def __init__(self, config: ModelConfig, known: int, width: int, outputs: int) -> None:
        super().__init__()
        hidden = config.hidden_size
        self.context = nn.Linear(width, hidden)
        if config.future_encoder == "lstm":
            self.steps = nn.LSTM(known + hidden, hidden, batch_first=True, bidirectional=True)
            self.out = nn.Linear(2 * hidden, outputs)
        else:
            self.steps = nn.Sequential(nn.Linear(known + hidden, hidden), nn.ReLU())
            self.out = nn.Linear(hidden, outputs)

    def forward(self, ahead: torch.Tensor, summary: torch.Tensor) -> torch.Tensor:
        context = torch.relu(self.context(summary))[:, None, :].expand(-1, ahead.shape[1], -1)
        steps = self.steps(torch.cat([ahead, context], dim=2))
        # steps -> (B, T, 2H) or (B, T, H); an LSTM returns (output, state)
        return self.out(steps[0] if isinstance(steps, tuple) else steps)


def _channels_as_batch(values: torch.Tensor) -> torch.Tensor:
    """(B, N, C) -> (B*C, N, 1): every channel a univariate series of its own, channel-major per window."""
    batch, steps, channels = values.shape
    return values.transpose(1, 2).reshape(batch * channels, steps, 1)
