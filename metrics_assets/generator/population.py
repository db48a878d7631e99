"""The user population as closed-form functions of (seed, scale factor, launch date, day).

User ids are handed out consecutively in signup order, so the ids signed up by day d are
exactly USER_ID_BASE + 1 .. USER_ID_BASE + cum_signups(d): any partition can pick existing
users, their attributes, closure day and daily activity without reading other partitions.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property

import numpy as np

from metrics_assets.generator import rand
from metrics_assets.generator.settings import GeneratorSettings

USER_ID_BASE = 10_000_000
DAY_US = 86_400 * 1_000_000
EPOCH = date(1970, 1, 1)

# salts of per-entity hashes (changing one changes the world)
S_SIGNUP_N, S_KIND, S_DUP_TARGET, S_CHANNEL, S_REGION, S_COUNTRY, S_SEGMENT = range(1, 8)
S_CURRENCY, S_CLOSE, S_ACTIVE, S_SIGNUP_T1, S_SIGNUP_T2, S_SIGNUP_T3, S_SIGNUP_US = range(8, 15)
S_DEVICE, S_IP, S_UA, S_ACTIVATE, S_EMAIL = range(15, 20)

KIND_NORMAL, KIND_BOT, KIND_DUP = 0, 1, 2


def salt(text: str) -> int:
    """A stable integer salt for a name (experiment ids, currencies)."""
    return zlib.crc32(text.encode())


def day_start_us(d: date) -> int:
    return (d - EPOCH).days * DAY_US


@dataclass
class Population:
    seed: int
    sf: float
    launch: date
    cfg: GeneratorSettings
    _cum: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)

    # ---- days -------------------------------------------------------------------------------------
    def k(self, d: date) -> int:
        """Day ordinal since launch (negative before launch)."""
        return (d - self.launch).days

    def day(self, k: int) -> date:
        return self.launch + timedelta(days=k)

    def weekday(self, k: int | np.ndarray) -> np.ndarray:
        return (np.asarray(k) + self.launch.weekday()) % 7

    def day_noise(self, k: int | np.ndarray, stream: int) -> np.ndarray:
        """Multiplicative day-level noise with standard deviation `daily_noise` (uniform shape)."""
        u = rand.uniform(self.seed, stream, np.asarray(k, dtype=np.int64))
        return 1.0 + (u - 0.5) * 2.0 * np.sqrt(3.0) * self.cfg.daily_noise

    # ---- signups ------------------------------------------------------------------------------------
    def expected_signups(self, k: int | np.ndarray) -> np.ndarray:
        k = np.asarray(k, dtype=np.int64)
        wf = np.asarray(self.cfg.weekday_factors.signups)[self.weekday(k)]
        growth = (1.0 + self.cfg.signup_growth_per_year) ** (k / 365.0)
        return self.cfg.signups_per_day_at_launch * self.sf * growth * wf * self.day_noise(k, S_SIGNUP_N)

    def cum_signups(self, k: int) -> int:
        """Number of signup records on days 0..k (0 for k < 0)."""
        if k < 0:
            return 0
        if len(self._cum) <= k:
            n = max(k + 1, 2 * len(self._cum), 64)
            days = np.arange(n, dtype=np.int64)
            e = self.expected_signups(days)
            counts = np.floor(e + rand.uniform(self.seed, S_SIGNUP_N + 100, days)).astype(np.int64)
            self._cum = np.cumsum(counts)
        return int(self._cum[k])

    def signup_ids(self, k: int) -> np.ndarray:
        """User ids of the signup records of day k."""
        return np.arange(self.cum_signups(k - 1), self.cum_signups(k), dtype=np.int64) + USER_ID_BASE + 1

    def ids_before(self, k: int) -> np.ndarray:
        """User ids signed up on days before k."""
        return np.arange(self.cum_signups(k - 1), dtype=np.int64) + USER_ID_BASE + 1

    def signup_day(self, uid: np.ndarray) -> np.ndarray:
        """Day ordinal of each user id's signup (ids must exist)."""
        idx = np.asarray(uid, dtype=np.int64) - USER_ID_BASE - 1
        self.cum_signups(0)
        while len(idx) and self._cum[-1] <= idx.max():
            self.cum_signups(2 * len(self._cum))
        return np.searchsorted(self._cum, idx, side="right").astype(np.int64)

    def n_before(self, sd: np.ndarray) -> np.ndarray:
        """Number of signup records before each signup day."""
        self.cum_signups(int(sd.max()) if len(sd) else 0)
        return np.where(sd > 0, self._cum[np.maximum(sd - 1, 0)], 0)

    def signup_us(self, uid: np.ndarray, sd: np.ndarray | None = None) -> np.ndarray:
        """signed_up_at in microseconds since the epoch."""
        sd = self.signup_day(uid) if sd is None else sd
        sec = rand.diurnal_seconds(
            *(rand.uniform(self.seed, uid, s) for s in (S_SIGNUP_T1, S_SIGNUP_T2, S_SIGNUP_T3))
        )
        sub = (rand.uniform(self.seed, uid, S_SIGNUP_US) * 1e6).astype(np.int64)
        return day_start_us(self.launch) + sd * DAY_US + sec * 1_000_000 + sub

    # ---- per-user attributes -----------------------------------------------------------------------
    def raw_kind(self, uid: np.ndarray) -> np.ndarray:
        u = rand.uniform(self.seed, uid, S_KIND)
        bot = self.cfg.bot_signup_rate
        return np.where(
            u < bot, KIND_BOT, np.where(u < bot + self.cfg.duplicate_signup_rate, KIND_DUP, KIND_NORMAL)
        )

    def kind_and_person(self, uid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Kind of each signup record and its person (the user id of the person's first record).

        A duplicate record re-uses the email hash of an earlier normal record; when the drawn
        target is not a normal record (or there is none yet) the record is a person of its own.
        """
        kind = self.raw_kind(uid)
        sd = self.signup_day(uid)
        before = self.n_before(sd)
        target = (
            USER_ID_BASE + 1 + np.floor(rand.uniform(self.seed, uid, S_DUP_TARGET) * before).astype(np.int64)
        )
        ok = (kind == KIND_DUP) & (before > 0)
        ok &= self.raw_kind(np.where(ok, target, uid)) == KIND_NORMAL
        kind = np.where((kind == KIND_DUP) & ~ok, KIND_NORMAL, kind)
        person = np.where(ok, target, uid)
        return kind, person

    @cached_property
    def channel_names(self) -> list[str]:
        return list(self.cfg.channels)

    def own_channel(self, uid: np.ndarray) -> np.ndarray:
        return rand.choose(
            rand.uniform(self.seed, uid, S_CHANNEL), [c.weight for c in self.cfg.channels.values()]
        )

    def channel(self, uid: np.ndarray, kind: np.ndarray, person: np.ndarray) -> np.ndarray:
        """Channel index; a duplicate record comes through a different channel than its person's."""
        n = len(self.channel_names)
        other = (
            self.own_channel(person)
            + 1
            + np.floor(rand.uniform(self.seed, uid, S_CHANNEL + 50) * (n - 1)).astype(np.int64)
        ) % n
        return np.where(kind == KIND_DUP, other, self.own_channel(uid))

    @cached_property
    def region_names(self) -> list[str]:
        return list(self.cfg.regions)

    def region(self, person: np.ndarray) -> np.ndarray:
        return rand.choose(
            rand.uniform(self.seed, person, S_REGION), [r.weight for r in self.cfg.regions.values()]
        )

    @cached_property
    def country_names(self) -> list[str]:
        return sorted({c for r in self.cfg.regions.values() for c in r.countries})

    def country(self, person: np.ndarray, region: np.ndarray) -> np.ndarray:
        """Country index into country_names, uniform among the region's countries."""
        u = rand.uniform(self.seed, person, S_COUNTRY)
        out = np.zeros(len(person), dtype=np.int64)
        for ri, r in enumerate(self.cfg.regions.values()):
            m = region == ri
            codes = np.array([self.country_names.index(c) for c in r.countries])
            out[m] = codes[np.floor(u[m] * len(codes)).astype(np.int64)]
        return out

    def currency(self, person: np.ndarray, region: np.ndarray) -> np.ndarray:
        """Index into cfg.currencies of the currency the person pays in (by their region's mix)."""
        u = rand.uniform(self.seed, person, S_CURRENCY)
        cur = self.cfg.currencies
        out = np.zeros(len(person), dtype=np.int64)
        for ri, r in enumerate(self.cfg.regions.values()):
            m = region == ri
            codes = np.array([cur.index(c) for c in r.currencies])
            out[m] = codes[rand.choose(u[m], list(r.currencies.values()))]
        return out

    def segment(self, uid: np.ndarray) -> np.ndarray:
        return rand.choose(
            rand.uniform(self.seed, uid, S_SEGMENT), [s.weight for s in self.cfg.segments.values()]
        )

    def close_day(self, uid: np.ndarray, sd: np.ndarray, kind: np.ndarray) -> np.ndarray:
        """Day ordinal of the account closure (geometric lifetime of at least one day; bots never close)."""
        p = self.cfg.churn_rate_per_day
        if p <= 0:
            return np.full(len(uid), np.iinfo(np.int64).max // 2)
        u = rand.uniform(self.seed, uid, S_CLOSE)
        life = 1 + np.floor(np.log1p(-u) / np.log1p(-p)).astype(np.int64)
        return np.where(kind == KIND_BOT, np.iinfo(np.int64).max // 2, sd + life)

    # ---- a day's population ------------------------------------------------------------------------
    def existing(self, k: int) -> dict[str, np.ndarray]:
        """Users signed up before day k with their kind, signup day and closure day."""
        uid = self.ids_before(k)
        kind = self.raw_kind(uid)  # only bot vs not matters here; duplicates are people too
        sd = self.signup_day(uid)
        return {"uid": uid, "kind": kind, "sd": sd, "close": self.close_day(uid, sd, kind)}

    def active(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(user ids, segment index) of the open, non-bot accounts active on day k."""
        e = self.existing(k)
        uid = e["uid"]
        seg = self.segment(uid)
        p = np.array([s.p_active for s in self.cfg.segments.values()])[seg]
        p = p * self.cfg.weekday_factors.activity[int(self.weekday(k))]
        on = (e["kind"] != KIND_BOT) & (e["close"] > k) & (rand.uniform(self.seed, uid, k, S_ACTIVE) < p)
        return uid[on], seg[on]


def ts(us: int) -> datetime:
    return datetime(1970, 1, 1) + timedelta(microseconds=us)
