"""Demo data for a local platform: the territory "Serre-Ponçon", three providers and a
dozen activities with slots over the next 30 days, created through the public APIs.

The providers are fictional; the communes are real places around the lake. Each activity
has a meeting point, what to bring and an illustration the storefront serves itself
(``/static/demo/*.svg``), so the demo needs nothing from the internet.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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


def load_state() -> dict[str, Any] | None:
    path = demo_state_path()
    return json.loads(path.read_text()) if path.exists() else None


def seed(platform: Platform, progress: Progress) -> dict[str, Any]:
    """Create the demo data once; a second run finds it and only brings the activities'
    presentation (meeting point, what to bring, photo) up to date."""
    token = office_token(role="admin", territory_id=DEMO_TERRITORY_ID, subject="demo-office")
    headers = {"Authorization": f"Bearer {token}"}
    catalog = httpx.Client(base_url=platform.url("catalog"), headers=headers, timeout=30)
    payments = httpx.Client(base_url=platform.url("payments"), headers=headers, timeout=30)
    existing = catalog.get("/v1/providers")
    state = load_state()
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
    demo_state_path().write_text(json.dumps(state, indent=2))
    progress(f"{slot_count} slots over the next 30 days")
    return state
