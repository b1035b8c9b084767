"""Demo data for a local platform: the territory "Serre-Ponçon", three providers and a
dozen activities with slots over the next 30 days, and some fifty visitors' bookings of
the next three weeks (paid, a few cancelled), all made through the public APIs.

The providers are fictional; the communes are real places around the lake. Each activity
has a meeting point, what to bring and an illustration the storefront serves itself
(``/static/demo/*.svg``), so the demo needs nothing from the internet.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from comptoir_common.settings import DEV_STRIPE_WEBHOOK_SECRET
from comptoir_ops import stripe_sim
from comptoir_ops.platform import Platform, demo_state_path
from comptoir_ops.tokens import office_token

DEMO_TERRITORY_ID = uuid.uuid5(uuid.NAMESPACE_URL, "https://comptoir.dev/demo/serre-poncon")
PARIS = ZoneInfo("Europe/Paris")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoPhoto:
    """One of the storefront's own illustrations, described for who cannot see it."""

    name: str
    alt_fr: str
    alt_en: str

    def as_json(self) -> dict[str, Any]:
        return {
            "url": f"/static/demo/{self.name}.svg",
            "alt": {"fr": self.alt_fr, "en": self.alt_en},
        }


LAKE_KAYAK = DemoPhoto(
    "lake-kayak",
    "Un kayak jaune sur le lac au coucher du soleil, les montagnes derrière",
    "A yellow kayak on the lake at sunset, the mountains behind",
)
POTTERY_WHEEL = DemoPhoto(
    "pottery-wheel",
    "Un bol en terre sur un tour de potier, des étagères de pièces derrière",
    "A clay bowl on a potter's wheel, shelves of pieces behind",
)
ATELIER = "Atelier Terre d'Embrun, dans la vieille ville d'Embrun"


@dataclass(frozen=True)
class DemoActivity:
    title_fr: str
    title_en: str
    description_fr: str
    description_en: str
    category: str
    commune: str
    units: tuple[tuple[str, int], ...]
    times: tuple[str, ...]
    every_days: int
    duration_minutes: int
    capacity: int
    meeting_point: str
    what_to_bring: str
    photo: DemoPhoto

    def presentation(self) -> dict[str, Any]:
        """What the storefront shows besides the offer itself (``PATCH`` body)."""
        return {
            "meeting_point": self.meeting_point,
            "what_to_bring": self.what_to_bring,
            "photos": [self.photo.as_json()],
        }


PROVIDERS: list[tuple[str, str, list[DemoActivity]]] = [
    (
        "Pagaies de la Baie",
        "bonjour@pagaies-baie.example",
        [
            DemoActivity(
                "Kayak au coucher du soleil",
                "Sunset kayak tour",
                "Deux heures de pagaie le long des rives quand le soleil descend sur le lac.",
                "Two hours paddling along the shore as the sun sets over the lake.",
                "nautical",
                "Savines-le-Lac",
                (("adult", 3500), ("child", 2000)),
                ("18:00",),
                1,
                120,
                12,
                meeting_point="Base nautique de Savines-le-Lac, ponton principal",
                what_to_bring="Maillot de bain, serviette, chaussures qui vont dans l'eau, "
                "crème solaire.",
                photo=LAKE_KAYAK,
            ),
            DemoActivity(
                "Initiation au paddle",
                "Stand-up paddle for beginners",
                "Les bons gestes pour tenir debout et avancer, en petit groupe.",
                "Learn to stand and paddle, in a small group.",
                "nautical",
                "Savines-le-Lac",
                (("adult", 2500), ("child", 1800)),
                ("10:00", "14:00"),
                2,
                90,
                8,
                meeting_point="Plage de Savines-le-Lac, devant la cabane de la base nautique",
                what_to_bring="Maillot de bain, serviette, un t-shirt de rechange.",
                photo=DemoPhoto(
                    "paddle",
                    "Une personne debout sur une planche de paddle au milieu du lac",
                    "A person standing on a paddle board in the middle of the lake",
                ),
            ),
            DemoActivity(
                "Traversée du lac en canoë",
                "Canoe crossing of the lake",
                "Une demi-journée pour rejoindre la chapelle Saint-Michel par l'eau.",
                "Half a day on the water to reach the Saint-Michel chapel.",
                "nautical",
                "Chorges",
                (("adult", 4500), ("child", 3000)),
                ("09:00",),
                3,
                240,
                10,
                meeting_point="Port de Chorges, baie Saint-Michel",
                what_to_bring="Pique-nique, gourde, casquette, crème solaire, "
                "vêtements de rechange.",
                photo=DemoPhoto(
                    "canoe-chapel",
                    "Deux pagayeurs dans un canoë rouge devant une petite chapelle sur un îlot",
                    "Two paddlers in a red canoe before a small chapel on an islet",
                ),
            ),
            DemoActivity(
                "Balade en famille sur l'eau",
                "Family paddle outing",
                "Un canoë par famille, un guide pour tous, une baignade à mi-parcours.",
                "One canoe per family, one guide for all, a swim halfway.",
                "nautical",
                "Prunières",
                (("adult", 3000), ("child", 1500)),
                ("10:30",),
                2,
                150,
                16,
                meeting_point="Plage de Prunières, parking du bord du lac",
                what_to_bring="Maillots de bain, serviettes, un goûter, "
                "chaussures qui vont dans l'eau.",
                photo=LAKE_KAYAK,
            ),
        ],
    ),
    (
        "Sentiers des Demoiselles",
        "contact@sentiers-demoiselles.example",
        [
            DemoActivity(
                "Les Demoiselles coiffées",
                "The Demoiselles Coiffées hoodoos",
                "Balade commentée jusqu'aux cheminées de fées, curiosité géologique du lac.",
                "A guided walk to the fairy chimneys, the lake's geological wonder.",
                "walk",
                "Le Sauze-du-Lac",
                (("adult", 1500), ("child", 800)),
                ("09:30",),
                1,
                150,
                20,
                meeting_point="Parking du site des Demoiselles coiffées, Le Sauze-du-Lac",
                what_to_bring="Chaussures de marche, eau, chapeau.",
                photo=DemoPhoto(
                    "hoodoos",
                    "Des colonnes de terre coiffées de pierres sur une pente au-dessus du lac",
                    "Earth pillars capped with stones on a slope above the lake",
                ),
            ),
            DemoActivity(
                "Randonnée crépusculaire",
                "Twilight hike",
                "Monter au belvédère pour voir la nuit tomber sur les sommets.",
                "Climb to the viewpoint and watch night fall on the peaks.",
                "walk",
                "Rousset",
                (("adult", 2000), ("child", 1000)),
                ("19:00",),
                3,
                180,
                15,
                meeting_point="Place de la mairie de Rousset",
                what_to_bring="Chaussures de marche, lampe frontale, veste chaude, gourde.",
                photo=DemoPhoto(
                    "mountain-path",
                    "Un sentier qui monte vers les sommets sous un ciel de crépuscule",
                    "A path climbing towards the peaks under a twilight sky",
                ),
            ),
            DemoActivity(
                "Sortie botanique",
                "Wild flowers walk",
                "Reconnaître les plantes des bords du lac et leurs usages.",
                "Learn the plants of the lakeshore and what they are used for.",
                "walk",
                "Chorges",
                (("adult", 1800), ("child", 900)),
                ("10:00",),
                4,
                120,
                12,
                meeting_point="Parking de la baie Saint-Michel, Chorges",
                what_to_bring="Chaussures de marche, eau, une loupe si vous en avez une.",
                photo=DemoPhoto(
                    "wild-flowers",
                    "Des fleurs sauvages dans une prairie au bord du lac",
                    "Wild flowers in a meadow by the lake",
                ),
            ),
            DemoActivity(
                "Lecture de paysage au barrage",
                "Reading the landscape at the dam",
                "L'histoire de la vallée engloutie racontée depuis la digue.",
                "The story of the drowned valley told from the dam.",
                "walk",
                "Rousset",
                (("adult", 1200), ("child", 600)),
                ("15:00",),
                2,
                90,
                25,
                meeting_point="Belvédère du barrage de Serre-Ponçon, côté Rousset",
                what_to_bring="Veste coupe-vent, eau.",
                photo=DemoPhoto(
                    "dam",
                    "Le barrage en travers de la vallée, le lac en amont",
                    "The dam across the valley, with the lake behind it",
                ),
            ),
        ],
    ),
    (
        "Atelier Terre d'Embrun",
        "atelier@terre-embrun.example",
        [
            DemoActivity(
                "Initiation au tour de potier",
                "Pottery wheel taster",
                "Centrer la terre, monter un bol, repartir avec sa pièce après cuisson.",
                "Centre the clay, raise a bowl, take your piece home after firing.",
                "workshop",
                "Embrun",
                (("adult", 4200),),
                ("10:00", "15:00"),
                2,
                120,
                6,
                meeting_point=ATELIER,
                what_to_bring="Des vêtements qui ne craignent pas la terre, cheveux attachés.",
                photo=POTTERY_WHEEL,
            ),
            DemoActivity(
                "Modelage pour enfants",
                "Clay modelling for children",
                "Un atelier créatif pour les 6-12 ans, accompagnés d'un adulte.",
                "A creative workshop for ages 6 to 12, with an adult.",
                "workshop",
                "Embrun",
                (("child", 1500), ("adult", 500)),
                ("14:00",),
                3,
                90,
                10,
                meeting_point=ATELIER,
                what_to_bring="Un tablier ou un vieux t-shirt, un goûter.",
                photo=POTTERY_WHEEL,
            ),
            DemoActivity(
                "Émaux et couleurs",
                "Glazes and colours",
                "Décorer et émailler des pièces déjà tournées.",
                "Decorate and glaze pieces already thrown.",
                "workshop",
                "Embrun",
                (("adult", 3500),),
                ("17:00",),
                4,
                120,
                8,
                meeting_point=ATELIER,
                what_to_bring="Des vêtements qui ne craignent pas les taches.",
                photo=DemoPhoto(
                    "glazes",
                    "Des vases et des bols émaillés de couleurs vives, un pinceau sur l'établi",
                    "Brightly glazed vases and bowls, a brush on the workbench",
                ),
            ),
            DemoActivity(
                "Visite de l'atelier",
                "Workshop visit",
                "Une heure dans l'atelier : le four, les terres, les gestes du métier.",
                "One hour in the workshop: the kiln, the clays, the craft.",
                "museum",
                "Embrun",
                (("adult", 600), ("child", 0)),
                ("11:30",),
                1,
                60,
                20,
                meeting_point=ATELIER,
                what_to_bring="Des chaussures fermées pour circuler dans l'atelier.",
                photo=DemoPhoto(
                    "workshop-facade",
                    "La façade de l'atelier, ses fenêtres bleues et des poteries sur les rebords",
                    "The workshop's front, blue windows and pots on the sills",
                ),
            ),
        ],
    ),
]


def slot_starts(activity: DemoActivity, first_day: date, days: int = 30) -> Iterator[datetime]:
    for offset in range(1, days + 1, activity.every_days):
        day = first_day + timedelta(days=offset)
        for hhmm in activity.times:
            hour, minute = map(int, hhmm.split(":"))
            local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)
            yield local.astimezone(UTC)


def _key(kind: str, name: str) -> str:
    """A stable Idempotency-Key: re-running the seed never creates anything twice."""
    return f"demo-{kind}-{uuid.uuid5(DEMO_TERRITORY_ID, name)}"


def _check(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 400:
        raise RuntimeError(f"{what} failed: {response.status_code} {response.text}")
    data: dict[str, Any] = response.json()
    return data


def _retry_until_found(
    call: Callable[[], httpx.Response], what: str, timeout: float = 60
) -> httpx.Response:
    """Another service learns of a new object by event: wait for it to catch up."""
    deadline = time.monotonic() + timeout
    while True:
        response = call()
        if response.status_code != 404 or time.monotonic() > deadline:
            _check(response, what)
            return response
        time.sleep(0.2)


def _present(catalog: httpx.Client, activity_id: str, activity: DemoActivity) -> None:
    """Meeting point, what to bring and photo, set by PATCH rather than in the creating
    POST: that POST keeps the body it always had, so its Idempotency-Key still matches
    what an earlier seed recorded, and a platform seeded before these existed gets them
    on the next seed. PATCH needs no key: sent twice, the second changes nothing."""
    _check(
        catalog.patch(f"/v1/activities/{activity_id}", json=activity.presentation()),
        f"presentation of {activity.title_en}",
    )


def _present_all(catalog: httpx.Client, state: dict[str, Any]) -> None:
    by_title = {a.title_en: a for _, _, activities in PROVIDERS for a in activities}
    for provider in state["providers"]:
        for entry in provider["activities"]:
            if (activity := by_title.get(entry["title"])) is not None:
                _present(catalog, entry["id"], activity)


def load_state(platform: Platform) -> dict[str, Any] | None:
    path = demo_state_path(platform.label)
    return json.loads(path.read_text()) if path.exists() else None


def save_state(platform: Platform, state: dict[str, Any]) -> None:
    demo_state_path(platform.label).write_text(json.dumps(state, indent=2))


def seed(platform: Platform, progress: Progress) -> dict[str, Any]:
    """Create the demo data once: the offer, then visitors' bookings on it. A second run
    finds both, brings the activities' presentation (meeting point, what to bring,
    photo) up to date and adds nothing."""
    state = _seed_offer(platform, progress)
    seed_bookings(platform, state, progress)
    return state


def _seed_offer(platform: Platform, progress: Progress) -> dict[str, Any]:
    """The territory, its providers, their activities and departures."""
    token = office_token(role="admin", territory_id=DEMO_TERRITORY_ID, subject="demo-office")
    headers = {"Authorization": f"Bearer {token}"}
    catalog = httpx.Client(base_url=platform.url("catalog"), headers=headers, timeout=30)
    payments = httpx.Client(base_url=platform.url("payments"), headers=headers, timeout=30)
    existing = catalog.get("/v1/providers")
    state = load_state(platform)
    if existing.status_code == 200 and existing.json()["total"] > 0 and state:
        _present_all(catalog, state)
        progress("demo data already present")
        return state
    # Every step below carries a stable Idempotency-Key: an interrupted seed resumes
    # without creating anything twice.
    _check(
        catalog.put(
            f"/v1/territories/{DEMO_TERRITORY_ID}",
            json={
                "name": "Serre-Ponçon",
                "currency": "EUR",
                "fee_rate_bps": 0,
                "timezone": "Europe/Paris",
            },
        ),
        "territory",
    )
    progress("territory Serre-Ponçon (EUR, fee 0)")
    webhook_secret = os.environ.get("COMPTOIR_STRIPE_WEBHOOK_SECRET", DEV_STRIPE_WEBHOOK_SECRET)
    today = datetime.now(PARIS).date()
    state = {"territory_id": str(DEMO_TERRITORY_ID), "providers": []}
    slot_count = 0
    for name, email, activities in PROVIDERS:
        provider = _check(
            catalog.post(
                "/v1/providers",
                json={"name": name, "email": email},
                headers={"Idempotency-Key": _key("provider", name)},
            ),
            f"provider {name}",
        )
        entry: dict[str, Any] = {"id": provider["id"], "name": name, "activities": []}
        for activity in activities:
            created = _check(
                catalog.post(
                    "/v1/activities",
                    headers={"Idempotency-Key": _key("activity", activity.title_en)},
                    json={
                        "provider_id": provider["id"],
                        "title": {"fr": activity.title_fr, "en": activity.title_en},
                        "description": {
                            "fr": activity.description_fr,
                            "en": activity.description_en,
                        },
                        "category": activity.category,
                        "commune": activity.commune,
                        "currency": "EUR",
                        "units": [{"id": u, "price_cents": p} for u, p in activity.units],
                    },
                ),
                f"activity {activity.title_en}",
            )
            _present(catalog, created["id"], activity)
            for start in slot_starts(activity, today):
                _check(
                    catalog.post(
                        f"/v1/activities/{created['id']}/slots",
                        headers={
                            "Idempotency-Key": _key("slot", f"{created['id']}-{start:%Y%m%d%H%M}")
                        },
                        json={
                            "start": start.isoformat(),
                            "duration_minutes": activity.duration_minutes,
                            "capacity": activity.capacity,
                        },
                    ),
                    "slot",
                )
                slot_count += 1
            entry["activities"].append({"id": created["id"], "title": activity.title_en})
            progress(f"  {activity.title_fr} ({activity.commune})")
        onboarding_url = f"/v1/providers/{provider['id']}/onboarding"
        onboarding = _retry_until_found(
            partial(payments.post, onboarding_url), f"onboarding of {name}"
        ).json()
        # With stripe-mock nobody completes the hosted onboarding: send the signed
        # account.updated event Stripe would send once the provider has finished it.
        account = onboarding["account_id"]
        payload = stripe_sim.build_event(
            "account.updated", stripe_sim.account_object(account), account=account
        )
        _check(
            payments.post(
                "/v1/stripe/webhook",
                content=payload,
                headers={
                    "Stripe-Signature": stripe_sim.sign(payload, webhook_secret),
                    "Content-Type": "application/json",
                },
            ),
            "simulated account.updated",
        )
        entry["stripe_account_id"] = account
        state["providers"].append(entry)
        progress(f"provider {name}: {len(activities)} activities, Stripe account {account}")
    state["slots"] = slot_count
    save_state(platform, state)
    progress(f"{slot_count} slots over the next 30 days")
    return state


# --- visitors' bookings ------------------------------------------------------------------
#
# An observatory of zeros tells a newcomer nothing: the demo also has visitors book its
# next three weeks, through the same public calls the storefront makes. What to book is
# drawn once (a random generator seeded with the day) and written to the demo state file
# with how far each booking got, so that a second seed adds nothing and an interrupted
# one resumes where it stopped (a hold lives 15 minutes, an Idempotency-Key 24 hours: the
# state file, not the keys alone, is what makes a re-run safe).

BOOKING_DAYS = 21
CONFIRM_TIMEOUT_SECONDS = 40.0
PROJECTION_TIMEOUT_SECONDS = 30.0
CHECK_IN_AHEAD = timedelta(hours=24)
#: Relative demand by category, doubled and a half on weekends: the lake first.
DEMAND = {"nautical": 3.0, "walk": 2.0, "museum": 1.2, "workshop": 0.8}
WEEKEND_DEMAND = 2.5
FIRST_NAMES_FR = (
    "Camille", "Léa", "Hugo", "Louise", "Jules", "Manon", "Arthur", "Chloé",
    "Lucas", "Inès", "Nathan", "Zoé", "Gabriel", "Jade", "Raphaël", "Alice",
)  # fmt: skip
FIRST_NAMES_EN = ("Oliver", "Amelia", "Harry", "Grace", "George", "Isla", "Jack", "Freya")


@dataclass(frozen=True)
class Departure:
    """An upcoming departure of a demo activity, as booking's public calendar shows it."""

    slot_id: str
    activity: DemoActivity
    start: datetime
    duration_minutes: int
    capacity: int
    remaining: int

    @property
    def weekend(self) -> bool:
        return self.start.astimezone(PARIS).weekday() >= 5


@dataclass
class DemoBooking:
    """One visitor's booking of the plan, and how far the seed got with it: ``stage``
    goes planned → held → paid → confirmed, then cancelled or checked_in for those
    marked so; skipped when the platform refused the hold (the departure closed)."""

    n: int
    slot_id: str
    activity: str
    start: str
    duration_minutes: int
    units: dict[str, int]
    name: str
    email: str
    locale: str
    cancel: bool = False
    check_in: bool = False
    stage: str = "planned"
    attempt: int = 0
    reservation_id: str | None = None
    visitor_token: str | None = None
    provider_id: str | None = None
    ticket_code: str | None = None
    note: str | None = None

    @property
    def seats(self) -> int:
        return sum(self.units.values())

    def hold_body(self) -> dict[str, Any]:
        """What the storefront's booking form sends."""
        return {
            "slot_id": self.slot_id,
            "units": [{"id": unit, "quantity": n} for unit, n in self.units.items() if n],
            "visitor": {"name": self.name, "email": self.email, "locale": self.locale},
        }

    def hold_key(self, planned_at: str) -> str:
        return _key("booking", f"{planned_at}-{self.n}-{self.attempt}")

    def visitor(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.visitor_token}"}


def _group_size(activity: DemoActivity, rng: random.Random) -> int:
    """1 to 4 tickets; a children's workshop comes as a child with an adult at least."""
    if activity.units[0][0] == "child":
        return rng.choice((2, 2, 3, 3, 4))
    return rng.choice((1, 2, 2, 2, 3, 3, 4, 4))


def _units(activity: DemoActivity, seats: int, rng: random.Random) -> dict[str, int]:
    """Tickets by unit, a mix that suits the activity: adults only where there is no
    child ticket, one adult with the children at a children's workshop, else families
    or groups of adults."""
    ids = [unit for unit, _ in activity.units]
    if "child" not in ids:
        return {ids[0]: seats}
    if ids[0] == "child":
        return {"child": max(1, seats - 1), "adult": 1} if seats > 1 else {"child": 1}
    if "adult" not in ids:
        return {"child": seats}
    adults = seats if seats == 1 or rng.random() < 0.45 else rng.randint(1, max(1, seats - 1))
    mix = {"adult": adults, "child": seats - adults}
    return {unit: n for unit, n in mix.items() if n}


def _visitor(n: int, rng: random.Random) -> tuple[str, str, str]:
    """An obviously fictitious visitor (name, e-mail, locale); a third read English."""
    if rng.random() < 1 / 3:
        first = FIRST_NAMES_EN[(n - 1) % len(FIRST_NAMES_EN)]
        return f"{first} Demo", f"visitor-{n:02d}@demo.example", "en"
    first = FIRST_NAMES_FR[(n - 1) % len(FIRST_NAMES_FR)]
    return f"{first} Demo", f"visiteur-{n:02d}@demo.example", "fr"


def plan_bookings(departures: list[Departure], now: datetime) -> list[DemoBooking]:
    """40 to 60 bookings over ``departures``, the same for the same day and departures.

    One lake departure of the first weekend sold out (the storefront then offers its
    waitlist), two more nearly full, two groups on a departure of the next 24 hours (to
    check them in), the rest drawn by demand: the lake and weekends most, workshops
    least, never filling a departure by chance. Four bookings of departures at least
    two days away are marked to be cancelled by their visitor, refunded in full."""
    rng = random.Random(f"comptoir-demo-bookings-{now.astimezone(PARIS).date().isoformat()}")
    bookable = sorted(
        (d for d in departures if d.remaining > 0 and d.start > now),
        key=lambda d: (d.start, d.slot_id),
    )
    left = {d.slot_id: d.remaining for d in bookable}
    plan: list[DemoBooking] = []
    on_purpose: set[str] = set()

    def book(departure: Departure, seats: int, *, check_in: bool = False) -> None:
        n = len(plan) + 1
        name, email, locale = _visitor(n, rng)
        plan.append(
            DemoBooking(
                n=n,
                slot_id=departure.slot_id,
                activity=departure.activity.title_en,
                start=departure.start.isoformat(),
                duration_minutes=departure.duration_minutes,
                units=_units(departure.activity, seats, rng),
                name=name,
                email=email,
                locale=locale,
                check_in=check_in,
            )
        )
        left[departure.slot_id] -= seats

    def fill(departure: Departure, seats: int) -> None:
        on_purpose.add(departure.slot_id)
        while seats > 0:
            size = min(seats, rng.choice((2, 3, 4)))
            book(departure, size)
            seats -= size

    lake = [d for d in bookable if d.activity.category == "nautical"]
    weekend_lake = [d for d in lake if d.weekend] or lake
    if weekend_lake:
        smallest = min(d.capacity for d in weekend_lake)
        sold_out = next(d for d in weekend_lake if d.capacity == smallest)
        fill(sold_out, left[sold_out.slot_id])
        others = [
            d for d in weekend_lake if d.activity is not sold_out.activity and d.remaining > 3
        ]
        nearly: list[Departure] = []
        for d in others:
            if all(d.activity is not x.activity for x in nearly):
                nearly.append(d)
            if len(nearly) == 2:
                break
        for d in nearly:
            fill(d, left[d.slot_id] - rng.choice((1, 2)))
    soon = [d for d in bookable if d.start <= now + CHECK_IN_AHEAD and d.slot_id not in on_purpose]
    if soon:
        departure = soon[0]
        on_purpose.add(departure.slot_id)
        for _ in range(2):
            seats = min(_group_size(departure.activity, rng), left[departure.slot_id])
            if seats > 0:
                book(departure, seats, check_in=True)
    chosen = [d for d in bookable if d.slot_id not in on_purpose]
    weights = [
        DEMAND.get(d.activity.category, 1.0) * (WEEKEND_DEMAND if d.weekend else 1.0)
        for d in chosen
    ]
    target = rng.randint(46, 54)
    drawn_at_random = len(plan)
    for _ in range(2000):
        if len(plan) >= target or not chosen:
            break
        departure = rng.choices(chosen, weights)[0]
        seats = _group_size(departure.activity, rng)
        if left[departure.slot_id] - seats >= 1:
            book(departure, seats)
    later = [
        b
        for b in plan[drawn_at_random:]
        if datetime.fromisoformat(b.start) - now >= timedelta(days=2)
    ]
    for b in rng.sample(later, min(4, len(later))):
        b.cancel = True
    return plan


def _upcoming_departures(
    catalog: httpx.Client, booking: httpx.Client, state: dict[str, Any], now: datetime
) -> list[Departure]:
    """The demo activities' departures of the next weeks that visitors can book, from
    booking's public calendar once booking has heard of every one catalog has (right
    after ``make up`` the events may still be on their way)."""
    by_title = {a.title_en: a for _, _, activities in PROVIDERS for a in activities}
    window = {
        "from": (now + timedelta(hours=1)).isoformat(),
        "to": (now + timedelta(days=BOOKING_DAYS)).isoformat(),
    }
    deadline = time.monotonic() + PROJECTION_TIMEOUT_SECONDS
    departures: list[Departure] = []
    for provider in state["providers"]:
        for entry in provider["activities"]:
            activity = by_title.get(entry["title"])
            if activity is None:
                continue
            path = f"/v1/activities/{entry['id']}"
            listed = catalog.get(f"{path}/slots", params=window)
            if listed.status_code >= 400:
                _check(listed, f"slots of {entry['title']}")
            expected = {s["id"] for s in listed.json() if s["status"] == "OPEN"}
            while True:
                answer = booking.get(f"{path}/availability", params=window)
                slots = _check(answer, "calendar")["slots"] if answer.status_code != 404 else []
                known = {s["slot_id"]: s for s in slots}
                if expected <= known.keys() and all(known[i]["bookable"] for i in expected):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"booking has not heard of the departures of {entry['title']} within "
                        f"{PROJECTION_TIMEOUT_SECONDS:g} s: is Kafka running? "
                        "Run `comptoir seed` again once it is."
                    )
                time.sleep(0.3)
            departures += [
                Departure(
                    slot_id=s["slot_id"],
                    activity=activity,
                    start=datetime.fromisoformat(s["start"]),
                    duration_minutes=s["duration_minutes"],
                    capacity=s["capacity"],
                    remaining=s["remaining"],
                )
                for s in slots
                if s["status"] != "CLOSED"
            ]
    return departures


@dataclass
class _Visitors:
    """The seed's visitors at work: public calls only, each visitor with their token."""

    booking: httpx.Client
    payments: httpx.Client
    planned_at: str
    items: list[DemoBooking]
    save: Callable[[], None]
    progress: Progress

    def at(self, *stages: str) -> list[DemoBooking]:
        return [b for b in self.items if b.stage in stages]

    def reservation(self, b: DemoBooking) -> dict[str, Any]:
        answer = self.booking.get(f"/v1/reservations/{b.reservation_id}", headers=b.visitor())
        return _check(answer, f"reservation {b.reservation_id}")

    def catch_up(self) -> None:
        """After an interrupted seed: a hold that lapsed is booked again (new key), a
        reservation confirmed meanwhile is taken as such."""
        for b in self.at("held", "paid"):
            status = self.reservation(b)["status"]
            if status in ("EXPIRED", "CANCELLED"):
                b.stage, b.attempt = "planned", b.attempt + 1
                b.reservation_id = b.visitor_token = None
            elif status in ("CONFIRMED", "REDEEMED"):
                b.stage = "confirmed"
        self.save()

    def hold(self) -> None:
        todo = self.at("planned")
        for i, b in enumerate(todo, 1):
            answer = self.booking.post(
                "/v1/reservations",
                json=b.hold_body(),
                headers={"Idempotency-Key": b.hold_key(self.planned_at)},
            )
            if answer.status_code == 409:
                b.stage, b.note = "skipped", str(answer.json().get("detail", ""))
                self.progress(f"bookings: {b.activity} at {b.start} skipped: {b.note}")
            else:
                held = _check(answer, f"hold for {b.name}")
                b.stage, b.reservation_id = "held", held["id"]
                b.visitor_token, b.provider_id = held["visitor_token"], held["provider_id"]
            self.save()
            if i % 12 == 0 or i == len(todo):
                self.progress(f"bookings: {i}/{len(todo)} held")

    def pay(self, deadline: float) -> None:
        """As the storefront in simulated mode: once payments knows the reservation's
        payment, the visitor pays it with Stripe's test card."""
        pending = self.at("held")
        tries: dict[str, int] = {}
        while pending:
            for b in list(pending):
                path = f"/v1/reservations/{b.reservation_id}/payment"
                answer = self.payments.get(path, headers=b.visitor())
                status = answer.json().get("status") if answer.status_code == 200 else None
                if answer.status_code not in (200, 404):
                    _check(answer, f"payment of {b.reservation_id}")
                if status == "REQUIRES_PAYMENT":
                    # payments keeps a refusal under its key a day: a new try, a new key
                    n = tries[path] = tries.get(path, -1) + 1
                    paid = self.payments.post(
                        f"{path}/simulate",
                        headers=b.visitor()
                        | {"Idempotency-Key": _key("payment", f"{b.reservation_id}-{n}")},
                    )
                    if paid.status_code == 409:
                        continue  # not payable yet: asked again on the next round
                    status = _check(paid, f"payment of {b.reservation_id}")["status"]
                if status == "SUCCEEDED":
                    b.stage = "paid"
                    pending.remove(b)
                elif status in ("FAILED", "CANCELED"):
                    raise RuntimeError(f"the payment of reservation {b.reservation_id} is {status}")
            self.save()
            self._give_up_after(deadline, pending, "take the payment of")
            if pending:
                time.sleep(0.2)
        self.progress(f"bookings: {len(self.at('paid', 'confirmed'))} paid")

    def confirm(self, deadline: float) -> None:
        pending = self.at("paid")
        while pending:
            for b in list(pending):
                reservation = self.reservation(b)
                if reservation["status"] in ("CONFIRMED", "REDEEMED"):
                    b.stage, b.ticket_code = "confirmed", reservation["ticket_code"]
                    pending.remove(b)
                elif reservation["status"] != "ON_HOLD":
                    raise RuntimeError(
                        f"reservation {b.reservation_id} is {reservation['status']} "
                        "although its payment succeeded"
                    )
            self.save()
            self._give_up_after(deadline, pending, "confirm")
            if pending:
                time.sleep(0.2)
        self.progress(f"bookings: {len(self.at('confirmed'))} confirmed")

    def _give_up_after(self, deadline: float, pending: list[DemoBooking], what: str) -> None:
        if pending and time.monotonic() > deadline:
            raise RuntimeError(
                f"the platform did not {what} {len(pending)} demo reservation(s) within "
                f"{CONFIRM_TIMEOUT_SECONDS:g} s (first: {pending[0].reservation_id}). "
                "Check that booking, payments and Kafka run (`comptoir status`, "
                "`comptoir logs`), then run `comptoir seed` again: it resumes there."
            )

    def cancel(self) -> None:
        """Some visitors change their plans: cancelled under the activity's policy, a day
        ahead or more, so their refund shows."""
        for b in self.at("confirmed"):
            if b.cancel:
                _check(
                    self.booking.post(
                        f"/v1/reservations/{b.reservation_id}/cancel",
                        headers=b.visitor()
                        | {"Idempotency-Key": _key("cancel", str(b.reservation_id))},
                    ),
                    f"cancellation of {b.reservation_id}",
                )
                b.stage = "cancelled"
                self.save()
        self.progress(f"bookings: {len(self.at('cancelled'))} cancelled by their visitors")

    def check_in(self) -> None:
        """The provider scans the tickets of a departure of the next 24 hours."""
        arriving = [b for b in self.at("confirmed") if b.check_in]
        for b in arriving:
            assert b.provider_id is not None and b.ticket_code is not None
            token = office_token(
                role="provider",
                territory_id=DEMO_TERRITORY_ID,
                provider_id=uuid.UUID(b.provider_id),
            )
            answer = self.booking.post(
                "/v1/check-ins",
                json={"code": b.ticket_code},
                headers={
                    "Authorization": f"Bearer {token}",
                    "Idempotency-Key": _key("check-in", str(b.reservation_id)),
                },
            )
            if answer.status_code == 409:  # the departure left the check-in window since
                b.check_in, b.note = False, str(answer.json().get("detail", ""))
            else:
                _check(answer, f"check-in of {b.reservation_id}")
                b.stage = "checked_in"
            self.save()
        checked = len(self.at("checked_in"))
        if checked or arriving:
            self.progress(f"bookings: {checked} visitor(s) checked in")
        else:
            self.progress("bookings: no departure in the next 24 hours, nobody to check in")


def _summary(items: list[DemoBooking]) -> str:
    kept = [b for b in items if b.stage in ("confirmed", "checked_in")]
    return (
        f"{len(kept)} bookings ({sum(b.seats for b in kept)} seats) on "
        f"{len({b.slot_id for b in kept})} departures, "
        f"{sum(b.stage == 'cancelled' for b in items)} cancelled, "
        f"{sum(b.stage == 'checked_in' for b in items)} checked in"
    )


def seed_bookings(
    platform: Platform,
    state: dict[str, Any],
    progress: Progress,
    *,
    transport: httpx.BaseTransport | None = None,
) -> list[DemoBooking]:
    """Visitors book the next three weeks, once: the plan and each booking's progress
    live in the state file, so a second run only reports them. ``transport`` lets tests
    play the platform."""
    record: dict[str, Any] | None = state.get("bookings")
    if record is not None and record.get("done"):
        items = [DemoBooking(**b) for b in record["items"]]
        progress(f"demo bookings already made: {_summary(items)}")
        return items
    started = time.monotonic()
    now = datetime.now(UTC)
    admin = office_token(role="admin", territory_id=DEMO_TERRITORY_ID, subject="demo-office")
    with (
        httpx.Client(
            base_url=platform.url("catalog"),
            headers={"Authorization": f"Bearer {admin}"},
            timeout=30,
            transport=transport,
        ) as catalog,
        httpx.Client(base_url=platform.url("booking"), timeout=30, transport=transport) as booking,
        httpx.Client(
            base_url=platform.url("payments"), timeout=30, transport=transport
        ) as payments,
    ):
        if record is None:
            departures = _upcoming_departures(catalog, booking, state, now)
            plan = plan_bookings(departures, now)
            record = {
                "planned_at": now.isoformat(),
                "done": False,
                "items": [asdict(b) for b in plan],
            }
            state["bookings"] = record
            save_state(platform, state)
            progress(
                f"bookings: {len(plan)} planned over {len({b.slot_id for b in plan})} "
                f"of {len(departures)} departures of the next {BOOKING_DAYS} days"
            )
        items = [DemoBooking(**b) for b in record["items"]]

        def save() -> None:
            assert record is not None
            record["items"] = [asdict(b) for b in items]
            save_state(platform, state)

        visitors = _Visitors(booking, payments, record["planned_at"], items, save, progress)
        visitors.catch_up()
        visitors.hold()
        deadline = time.monotonic() + CONFIRM_TIMEOUT_SECONDS
        visitors.pay(deadline)
        visitors.confirm(deadline)
        visitors.cancel()
        visitors.check_in()
        record["done"] = True
        save()
    progress(f"{_summary(items)}, in {time.monotonic() - started:.0f}s")
    return items
