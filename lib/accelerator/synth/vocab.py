"""Names, streets and postcode districts for the synthetic population (all fictional combinations).

Every string here is encodable in Windows-1252, so a delivery can be re-encoded without loss.
"""

from __future__ import annotations

from collections.abc import Mapping

FEMALE_FORENAMES: tuple[str, ...] = tuple(
    """
    Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Willow Freya Florence Emily Ella
    Poppy Evie Elsie Charlotte Evelyn Sienna Sofia Daisy Phoebe Sophie Alice Harper Matilda Ruby Emilia
    Maya Millie Isabelle Luna Erin Esme Ellie Layla Chloe Mila Jessica Eva Aria Hallie Holly Imogen
    Amber Maisie Lucy Scarlett Hannah Nancy Ellie-May Zara Aisha Fatima Maryam Khadija Zainab Amina
    Hafsa Inaya Anaya Aleena Ayesha Samira Nadia Jasmine Leah Abigail Molly Georgia Megan Lauren Bethany
    Rebecca Samantha Victoria Elizabeth Katherine Catherine Margaret Patricia Susan Deborah Jennifer
    Amanda Kimberley Nicola Joanne Michelle Sarah Claire Emma Rachel Kelly Donna Tracey Julie Karen
    Lisa Angela Helen Gemma Stacey Danielle Kirsty Louise Natalie Jade Chelsea Shannon Courtney Paige
    Kayleigh Demi Abbie Tia Keira Niamh Aoife Siobhán Zoë Chloë Renée Noémie Inés Zuzanna Agnieszka
    Katarzyna Oliwia Julia Amelie Precious Blessing Chidinma Adaeze Folasade Nia Kezia Tiana Shanice
    Marcia Beverley Doreen Brenda Maureen Pauline Irene Jean Sheila Barbara Valerie Christine Linda
    Janet Carol Anne Mary Ann-Marie Mary-Jane
    """.split()  # noqa: SIM905
)

MALE_FORENAMES: tuple[str, ...] = tuple(
    """
    Oliver George Arthur Noah Muhammad Leo Oscar Harry Archie Jack Henry Charlie Freddie Theodore
    Thomas Finley Theo Alfie Jacob William Isaac Tommy Joshua James Lucas Alexander Arlo Roman Edward
    Logan Elijah Teddy Max Mohammed Reggie Albie Ethan Adam Hugo Joseph Jude Benjamin Sebastian Dylan
    Louie Toby Rory Frankie Harrison Ronnie Ibrahim Yusuf Ayaan Zain Hamza Bilal Imran Tariq Faisal
    Usman Ali Omar Daniel Matthew Michael Christopher Robert Richard Stephen Anthony Nicholas Jonathan
    Samuel Frederick Nathan Zachary Stuart Gareth Craig Darren Wayne Lee Dean Carl Jason Mark Paul
    Andrew David Peter John Kevin Gary Neil Simon Ian Martin Steven Liam Connor Callum Kyle Jordan
    Reece Bradley Kieran Declan Jamie Ryan Aaron Tyler Jayden Jaiden Kai Mason Riley Bailey Seán José
    Ramón François Jürgen Piotr Jakub Kacper Szymon Mateusz Tomasz Chinedu Emeka Oluwaseun Kwame Kofi
    Tunde Marlon Delroy Winston Leroy Clive Trevor Keith Brian Derek Colin Malcolm Raymond Kenneth
    Bernard Terence Dennis Roy Alan Frank
    """.split()  # noqa: SIM905
)

SURNAMES: tuple[str, ...] = tuple(
    """
    Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson
    Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin
    Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips
    Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson Bailey
    Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson Simpson Ellis Adams Singh
    Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell Matthews
    Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray
    Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur Gibson Howard Andrews Stewart Elliott Reynolds
    Saunders Payne Fox Ford Pearce Day Brooks West Lawrence Cole Atkinson Bradley Spencer Gill Dawson
    Ball Burton O'Brien Watts Rose Booth Perry Ryan Grant Wells Armstrong Francis Rees Hayes Hart
    Hudson Newman Barrett Gregory Lowe Akhtar Iqbal Mahmood Rahman Hassan Aziz Mirza Shah Bibi Chaudhry
    Rashid Nawaz Sharif Malik Kowalski Nowak Kowalczyk Lewandowski Zielinski Wojcik Okafor Mensah
    Adeyemi Okonkwo Boateng Asante Oyelaran Campbell-Brown O'Connor O'Neill O'Sullivan D'Souza
    McDonald MacKenzie McCarthy Smith-Jones Taylor-Brown Ashworth Schofield Butterworth Whittaker
    Haworth Greenhalgh Ramsbottom Entwistle Lomax Kershaw Crompton Hindle Pilling Ogden Howarth Heywood
    Cunliffe Tattersall Holt Nuttall Brierley Sutcliffe Kenyon Fairclough Winstanley Eckersley Hulme
    Platt Mellor Bamford Royle Swindells Cartwright Fitzgerald Doherty Gallagher Brennan Quinn Byrne
    Müller Núñez
    """.split()  # noqa: SIM905
)

NICKNAMES: Mapping[str, tuple[str, ...]] = {
    "William": ("Bill", "Will", "Billy"),
    "Elizabeth": ("Liz", "Beth", "Lizzie"),
    "Robert": ("Bob", "Rob", "Bobby"),
    "Richard": ("Rich", "Dick", "Ricky"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "Margaret": ("Maggie", "Peggy"),
    "Katherine": ("Kate", "Kathy", "Katie"),
    "Catherine": ("Cathy", "Kate", "Cath"),
    "Michael": ("Mike", "Mick", "Micky"),
    "Thomas": ("Tom", "Tommy"),
    "Christopher": ("Chris",),
    "Jennifer": ("Jen", "Jenny"),
    "Daniel": ("Dan", "Danny"),
    "Joseph": ("Joe", "Joey"),
    "Samuel": ("Sam", "Sammy"),
    "Alexander": ("Alex", "Sandy"),
    "Anthony": ("Tony", "Ant"),
    "Rebecca": ("Becky", "Becca"),
    "Victoria": ("Vicky", "Tori"),
    "Jessica": ("Jess", "Jessie"),
    "Samantha": ("Sam", "Sammie"),
    "Nicholas": ("Nick", "Nicky"),
    "Matthew": ("Matt",),
    "Benjamin": ("Ben", "Benji"),
    "Jonathan": ("Jon", "Jonny"),
    "Stephen": ("Steve",),
    "Steven": ("Steve",),
    "Edward": ("Ed", "Eddie", "Ted"),
    "Patricia": ("Pat", "Trish"),
    "Susan": ("Sue", "Suzy"),
    "Deborah": ("Debbie", "Deb"),
    "Frederick": ("Fred", "Freddie"),
    "Charlotte": ("Lottie", "Charlie"),
    "Abigail": ("Abbie", "Abby"),
    "Oliver": ("Ollie",),
    "Henry": ("Harry", "Hal"),
    "Joshua": ("Josh",),
    "Nathan": ("Nate",),
    "Zachary": ("Zach", "Zak"),
    "Kimberley": ("Kim",),
    "Amanda": ("Mandy",),
    "Stuart": ("Stu",),
    "Gareth": ("Gaz",),
    "Theodore": ("Theo", "Teddy"),
    "Isabella": ("Bella", "Izzy"),
    "Isabelle": ("Izzy",),
    "Matilda": ("Tilly",),
    "Florence": ("Flo",),
    "Alexandra": ("Alex",),
    "Mohammed": ("Mo",),
    "Muhammad": ("Mo",),
    "Frankie": ("Frank",),
    "Andrew": ("Andy", "Drew"),
    "David": ("Dave", "Davy"),
    "Peter": ("Pete",),
    "Kenneth": ("Ken", "Kenny"),
    "Raymond": ("Ray",),
    "Terence": ("Terry",),
    "Bernard": ("Bernie",),
    "Christine": ("Chris", "Chrissie"),
    "Valerie": ("Val",),
    "Barbara": ("Barb", "Babs"),
    "Pauline": ("Pauly",),
    "Danielle": ("Dani",),
    "Natalie": ("Nat",),
    "Gemma": ("Gem",),
    "Nicola": ("Nicky", "Nic"),
    "Joanne": ("Jo",),
    "Michelle": ("Shelley",),
    "Sarah": ("Sal",),
}

SIMILAR_FORENAMES: tuple[tuple[str, str], ...] = (
    ("Ella", "Ellie"),
    ("Jayden", "Jaiden"),
    ("Isabelle", "Isabella"),
    ("Lily", "Lilly"),
    ("Leah", "Lea"),
    ("Aaron", "Aron"),
    ("Sophia", "Sofia"),
    ("Millie", "Mollie"),
    ("Harry", "Harvey"),
    ("Evie", "Eve"),
    ("Callum", "Calum"),
    ("Amelia", "Amelie"),
)

_STREET_NAMES: tuple[str, ...] = tuple(
    """
    Acacia Albert Alexandra Ash Bank Beech Birch Bolton Bridge Brook Brookside Cedar Chapel Cherry
    Chestnut Church Clarence Clifton Coronation Cross Dale Derby Duke Elm Fern Fairfield Gladstone
    Grange Green Hawthorn Hazel Heath High Highfield Hill Holly Jubilee Kings Laburnum Lime Linden
    Manor Maple Market Meadow Mill Moss Mount Mulberry New Newton Oak Orchard Park Peel Pine Poplar
    Princess Queens Railway Regent Rochdale Rose Rowan Sandy School Spring Stanley Station Sycamore
    Thorn Vale Victoria Water Wellington Willow Windsor York Abbey Ainsworth Alder Ardwick Ashton
    Barlow Belmont Blackburn Bradshaw Brunswick Buxton Cambridge Canal Castle Chorley Cobden
    Delph Derwent Egerton Ellesmere Fountain Garden Grosvenor Hallam Harper Hollins Irwell Kenyon
    Lancaster Leigh Lever Lindow Lords Mersey Moorside Nelson Oldham Pennine Pilkington Radcliffe
    Ribble Rutland Saddleworth Sefton Shaw Tame Tonge Trafalgar Tudor Union Vernon Walkden Wharf
    Whitworth Wigan Worsley
    """.split()  # noqa: SIM905
)
STREET_NAMES: tuple[str, ...] = (*_STREET_NAMES, "St Mary's", "St John's")

STREET_TYPES: tuple[str, ...] = (
    "Road",
    "Street",
    "Avenue",
    "Close",
    "Lane",
    "Place",
    "Drive",
    "Crescent",
    "Grove",
    "Square",
    "Terrace",
)

STREET_TYPE_WEIGHTS: tuple[int, ...] = (30, 26, 12, 8, 7, 3, 6, 4, 3, 1, 3)

ABBREVIATIONS: Mapping[str, str] = {
    "Road": "Rd",
    "Street": "St",
    "Avenue": "Ave",
    "Close": "Cl",
    "Lane": "Ln",
    "Place": "Pl",
    "Drive": "Dr",
    "Crescent": "Cres",
    "Grove": "Gr",
    "Square": "Sq",
    "Terrace": "Ter",
}

POSTCODE_DISTRICTS: Mapping[str, tuple[str, ...]] = {
    "bolton": ("BL1", "BL2", "BL3", "BL4", "BL5", "BL6", "BL7"),
    "bury": ("BL0", "BL8", "BL9", "M26", "M45"),
    "manchester": (
        "M1",
        "M4",
        "M8",
        "M9",
        "M11",
        "M12",
        "M13",
        "M14",
        "M15",
        "M16",
        "M18",
        "M19",
        "M20",
        "M21",
        "M22",
        "M23",
        "M40",
    ),
    "oldham": ("OL1", "OL2", "OL4", "OL8", "OL9"),
    "rochdale": ("OL10", "OL11", "OL12", "OL16", "M24"),
    "salford": ("M3", "M5", "M6", "M7", "M27", "M28", "M30", "M44", "M50"),
    "stockport": ("SK1", "SK2", "SK3", "SK4", "SK5", "SK6", "SK7", "SK8"),
    "tameside": ("OL5", "OL6", "OL7", "SK14", "SK15", "SK16", "M34", "M43"),
    "trafford": ("M31", "M32", "M33", "M41", "WA14", "WA15"),
    "wigan": ("WN1", "WN2", "WN3", "WN4", "WN5", "WN6", "WN7", "M46"),
}

INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters used in inward codes (no C I K M O V)

LA_CODES: Mapping[str, str] = {
    "bolton": "350",
    "bury": "351",
    "manchester": "352",
    "oldham": "353",
    "rochdale": "354",
    "salford": "355",
    "stockport": "356",
    "tameside": "357",
    "trafford": "358",
    "wigan": "359",
}

NEIGHBOURS: Mapping[str, tuple[str, ...]] = {
    "bolton": ("bury", "wigan", "salford"),
    "bury": ("bolton", "rochdale", "manchester", "salford"),
    "manchester": ("salford", "trafford", "stockport", "tameside", "oldham", "bury", "rochdale"),
    "oldham": ("rochdale", "tameside", "manchester"),
    "rochdale": ("bury", "oldham", "manchester"),
    "salford": ("manchester", "trafford", "bolton", "wigan", "bury"),
    "stockport": ("manchester", "tameside", "trafford"),
    "tameside": ("oldham", "stockport", "manchester"),
    "trafford": ("manchester", "salford", "stockport"),
    "wigan": ("bolton", "salford"),
}

LEAD_AGENCIES: tuple[str, ...] = (
    "EARLY_HELP",
    "EARLY_HELP",
    "EARLY_HELP",
    "SCHOOL",
    "HEALTH_VISITING",
    "YOUTH_SERVICE",
    "HOUSING",
    "SOCIAL_CARE",
)
