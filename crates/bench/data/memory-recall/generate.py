#!/usr/bin/env python3
"""Writes the memory-recall benchmark set: a year of daily notes and questions about them.

    python3 generate.py        # rewrites memory/ and questions.json beside this file

The set imitates a personal assistant's `memory/` folder: 220 daily notes of ordinary life
(runs, groceries, meetings, calls, bills), 64 of which also hold one fact that a question asks
about. It is built so that neither half of hybrid search can do the job alone:

- facts come in families (four dentist appointments, four borrowed things, four wifi codes…):
  the meaning of a question finds the family, and only the name, place or item in it tells the
  four apart — a keyword's job;
- questions are worded the way people ask, not the way notes are written ("internet login"
  for "wifi password", "novel" for "book", "excursion" for "field trip"), and the names in them
  also fill the ordinary days (Priya has coffee, calls, meetings…): a name alone matches dozens
  of notes, the meaning decides — a vector's job.

Deterministic (fixed seed): the files are checked in, and this script documents how they were
made. Each question's answer is in exactly one note (its `note`), found by `answer`.
"""

import datetime
import json
import os
import random
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20260301)

PEOPLE = ["Priya", "Tomasz", "Amara", "Jonas", "Keiko", "Mateo", "Ingrid", "Olu", "Sven",
          "Leila", "Dmitri", "Nadia", "Rafael", "Hana", "Callum", "Zeynep"]
PLACES = ["the cabin", "the office", "Mum's flat", "the studio", "the allotment shed", "the boat",
          "Grandpa's house", "the co-working space"]
PROJECTS = ["the Q3 budget", "the website redesign", "the kitchen renovation", "the grant report",
            "the onboarding guide", "the data migration", "the school fundraiser"]
MOVIES = ["Past Lives", "Arrival", "Paddington 2", "The Holdovers", "Perfect Days", "Aftersun"]
FOODS = ["oat milk", "lentils", "spinach", "rye bread", "feta", "apples", "coffee beans", "rice",
         "tofu", "yoghurt", "tomatoes", "eggs"]

# The ordinary lines every day is made of; they share names and topics with the facts.
def filler_line():
    p, q = rng.sample(PEOPLE, 2)
    return rng.choice([
        f"Went for a {rng.randint(3, 12)} km run along the river.",
        f"Groceries: {', '.join(rng.sample(FOODS, 3))}.",
        f"Coffee with {p}; we talked about {rng.choice(PROJECTS)}.",
        f"Meeting with {p} and {q} about {rng.choice(PROJECTS)}.",
        f"Watched {rng.choice(MOVIES)} with {p}.",
        f"Called {p} about the weekend plans.",
        f"Worked on {rng.choice(PROJECTS)} most of the afternoon.",
        f"{p} sent photos from their trip.",
        f"Cleaned {rng.choice(PLACES)} and sorted the recycling.",
        f"Yoga class in the evening; tired but good.",
        f"Paid the {rng.choice(['electricity', 'water', 'phone', 'internet', 'council tax'])} bill.",
        f"Read a few chapters before bed.",
        f"Dinner at home: {rng.choice(['pasta', 'curry', 'soup', 'stir-fry', 'tacos'])} with {p}.",
        f"Helped {p} move a sofa; owe them nothing now.",
        f"Rainy day, stayed in and tidied the desk.",
    ])

# Families of facts: (note line, question, answer), with slots filled per instance.
def families():
    doctors = ["Dr. Okafor", "Dr. Lindqvist", "Dr. Haddad", "Dr. Moreau"]
    for i, doc in enumerate(doctors):
        day, hour = 10 + i * 3, 9 + i
        yield (f"Dentist: {doc}'s office moved my cleaning to the {day}th at {hour}:30.",
               f"When is my next dental appointment with {doc}?", f"{day}th at {hour}:30")
    codes = ["maple-7731", "tidewater42", "K9!orbit", "saffron-0815"]
    for place, code in zip(["the cabin", "Mum's flat", "the studio", "the boat"], codes):
        yield (f"The wifi password at {place} is {code}.",
               f"What's the internet login for {place}?", code)
    things = [("drill", "Jonas"), ("camping stove", "Amara"), ("tent", "Mateo"), ("ladder", "Keiko")]
    for thing, who in things:
        yield (f"Lent my {thing} to {who}; they'll return it after the holidays.",
               f"Who borrowed my {thing}?", who)
    gifts = [("Priya", "a fountain pen"), ("Sven", "climbing shoes"), ("Hana", "a pasta machine"),
             ("Olu", "vinyl of Blue Train")]
    for who, gift in gifts:
        yield (f"{who}'s birthday is coming up; they mentioned wanting {gift}.",
               f"What present should I get {who}?", gift)
    parts = [("timing belt", "€640"), ("brake pads", "€180"), ("clutch", "€1,150"), ("alternator", "€420")]
    for part, price in parts:
        yield (f"Car: the garage says the {part} needs replacing, quote {price}.",
               f"How much will fixing the car's {part} cost?", price)
    parking = [("the airport", "P4-117"), ("the hospital", "B2-33"), ("the stadium", "G-808"),
               ("the mall", "L3-59")]
    for place, spot in parking:
        yield (f"Parked at {place}, spot {spot}.",
               f"Where did I leave the car at {place}?", spot)
    books = [("Tomasz", "The Overstory"), ("Leila", "Piranesi"), ("Dmitri", "A Gentleman in Moscow"),
             ("Nadia", "The Dispossessed")]
    for who, title in books:
        yield (f"{who} recommended the book {title}.",
               f"Which novel did {who} suggest I read?", title)
    trips = [("Mia", "the aquarium", "€12"), ("Leo", "the science museum", "€8"),
             ("Mia", "the castle", "€15"), ("Leo", "the farm", "€6")]
    for child, place, money in trips:
        yield (f"School: {child}'s field trip to {place} needs a signed form and {money} by Friday.",
               f"What does {child} need to bring for the excursion to {place}?", money)
    flights = [("Lisbon", "KL1693", "06:40"), ("Oslo", "SK4712", "13:15"), ("Porto", "TP551", "19:05"),
               ("Krakow", "LO282", "10:20")]
    for city, code, time in flights:
        yield (f"Flight {code} to {city} leaves at {time}, terminal 2.",
               f"What time does my plane to {city} depart?", time)
    policies = [("house", "HX-22-90417"), ("car", "MV-5530-118"), ("travel", "TR-7781-A"),
                ("phone", "PH-00913")]
    for thing, code in policies:
        yield (f"Insurance policy number for the {thing}: {code}.",
               f"What's the reference of my {thing} cover?", code)
    pets = [("Biscuit", "chicken"), ("Pepper", "grain"), ("Mochi", "beef"), ("Juniper", "dairy")]
    for pet, food in pets:
        yield (f"Vet says {pet} is allergic to {food}.",
               f"What food must {pet} avoid?", food)
    repairs = [("Callum", "boiler"), ("Rafael", "dishwasher"), ("Ingrid", "garage door"),
               ("Zeynep", "roof gutter")]
    for who, thing in repairs:
        yield (f"{who} came round and fixed the {thing}; paid cash.",
               f"Who repaired the {thing}?", who)
    splits = [("Priya", "holiday cottage", "60/40"), ("Jonas", "streaming", "half"),
              ("Keiko", "cleaner", "a third"), ("Mateo", "garden service", "70/30")]
    for who, bill, share in splits:
        yield (f"Agreed with {who} to split the {bill} cost {share}.",
               f"How are {who} and I sharing the {bill} expenses?", share)
    recipes = [("Amara", "jollof rice", "smoked paprika"), ("Hana", "miso soup", "dashi from kombu"),
               ("Olu", "banana bread", "brown butter"), ("Sven", "cinnamon buns", "cardamom")]
    for who, dish, secret in recipes:
        yield (f"{who}'s trick for {dish}: {secret}.",
               f"What's the secret ingredient in {who}'s {dish}?", secret)
    lockers = [("the gym", "locker 214, code 5921"), ("the pool", "locker 37, code 1184"),
               ("the climbing wall", "locker 9, code 7306"), ("the station", "locker 88, code 4410")]
    for place, spec in lockers:
        yield (f"Storage at {place}: {spec}.",
               f"How do I open my locker at {place}?", spec.split("code ")[1])
    meds = [("Dad", "blood pressure tablets", "8 am"), ("Gran", "eye drops", "bedtime"),
            ("Dad", "vitamin D", "lunch"), ("Gran", "iron supplement", "breakfast")]
    for who, med, when in meds:
        yield (f"Reminder: {who} takes the {med} at {when}.",
               f"When should {who} have the {med}?", when)


def main():
    facts = list(families())
    assert len(facts) >= 50
    mem = os.path.join(HERE, "memory")
    shutil.rmtree(mem, ignore_errors=True)
    os.makedirs(mem)
    start = datetime.date(2026, 1, 1)
    days = [start + datetime.timedelta(days=i) for i in range(220)]
    fact_days = sorted(rng.sample(range(len(days)), len(facts)))
    order = list(range(len(facts)))
    rng.shuffle(order)
    questions = []
    for n, day in enumerate(days):
        lines = [filler_line() for _ in range(rng.randint(2, 5))]
        if n in fact_days:
            line, question, answer = facts[order[fact_days.index(n)]]
            lines.insert(rng.randint(0, len(lines)), line)
            questions.append({"question": question, "note": f"memory/{day.isoformat()}.md",
                              "answer": answer})
        with open(os.path.join(mem, f"{day.isoformat()}.md"), "w") as f:
            f.write(f"# {day.isoformat()}\n\n" + "\n".join(f"- {l}" for l in lines) + "\n")
    questions.sort(key=lambda q: q["note"])
    with open(os.path.join(HERE, "questions.json"), "w") as f:
        json.dump(questions, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{len(days)} notes, {len(questions)} questions")


if __name__ == "__main__":
    main()
