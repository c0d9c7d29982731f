"""Short English words that people write in capitals for emphasis ("REAL", "NOT", "BEST").

A capitalized token of two to four letters is spelled out ("TV" → "T V") unless it is one of
these. No dictionary package is a dependency and a full dictionary would be wrong anyway: it
holds "os", "ai" and "tv" as words. So this is a list of the common words, chosen by hand.
"""

COMMON_SHORT_WORDS = frozenset(
    """
    am an as at be by do go he hi if in is it me my no of oh on or ow so to up us we ya yo ok id
    ace act add ago aid ail aim air all and ant any ape are arm art ask ate awe axe bad bag ban
    bar bat bay bed bee beg bet bid big bin bit boo bow box boy bro bug bum bun bus but buy bye
    cab can cap car cat cop cow cry cup cut dad day den dew did die dig dim dip dog dot dry due
    dug dull dye ear eat egg ego end era eve eye fan far fat fed fee few fib fig fit fix flu fly
    foe fog for fox fry fun fur gag gap gas gay get god got gum gun gut guy had ham has hat hay
    her hey hid him hip his hit hop hot how hug huh hut ice icy ill ink inn its jam jar jaw jet
    job jog joy key kid kin kit lab lad lag lap law lay led leg let lid lie lip lit log lot low
    mad man map mat max may men met mix mob mom mud mug nag nap net new nil nod nor not now nun
    nut oak odd off oil old one our out owe owl own pad pal pan pat paw pay pea pen pet pie pig
    pit pop pot pro pub pun put rag ran rap rat raw ray red rid rip rob rod rot row rub rug run
    sad sat saw say sea see set sew sex she shy sin sip sir sit six ski sky sly sob son spa spy
    sue sum sun tab tag tan tap tax tea ten the thy tie tin tip toe ton too top toy try tub tug
    two ugh use van vet vow war was way web wed wet who why wig win wit woe wok won wow yay yes
    yet you zen zoo
    able ache acid acts aged ages ahem ally also area arms army arts asks auto away awed baby
    back bail bait bake bald ball band bang bank bare bark barn base bath bear beat been beer
    bell belt bend bent best bias bike bill bind bird bite blew blow blue blur boat body boil
    bold bolt bomb bond bone book boom boot bore born boss both bowl burn bury busy cafe cage
    cake call calm came camp card care cart case cash cast cave cell chat chef chip city clap
    clue coat code cold come cook cool cope copy core cost cozy crew crop cult cure cute dare
    dark data date dawn dead deaf deal dear debt deed deep deny desk dial dice died diet dirt
    dish dive does doll dome done doom door dose down drag draw drew drop drug drum dual duck
    dude dull dumb dump dust duty each earn ease east easy edge else epic even ever evil exam
    exit face fact fade fail fair fake fall fame fast fate fear feel feet fell felt file fill
    film find fine fire firm fish five flag flat fled flew flip flow folk food fool foot form
    fort four free from fuel full fund fury fuss gain game gang gate gave gear gift girl give
    glad glow glue goal goes gold golf gone good gore grab gray grew grey grim grin grip grow
    guts hair half hall hand hang hard harm hate have head heal hear heat held hell help here
    hero hers hide high hike hill hint hire hold hole holy home hook hope horn host hour huge
    hung hunt hurt idea idle inch into iron item jail joke jump june jury just keen keep kept
    kick kill kind king kiss knew knee know lack lady laid lake lame land lane last late lazy
    lead leaf lean left lend less liar lick lies life lift like line link lion list live load
    loan lock logo lone long look loop lord lose loss lost loud love luck lung made mail main
    make male mall many mark mask mass mate meal mean meat meet melt mess mild mile milk mind
    mine miss mode mood moon more most move much must myth nail name navy near neat neck need
    news next nice nine none noon nope norm nose note okay once only open oral ours over pace
    pack page paid pain pair pale palm park part pass past path peak pick pile pink pity plan
    play plot plus poem poet pole poll pool poor pope pork port pose post pour pray prey pull
    pure push quit race rage raid rain rank rare rate read real rely rent rest rich ride ring
    rise risk road rock role roll roof room root rope rose ruin rule rush safe said sake sale
    salt same sand save seat seed seek seem seen self sell send sent shed ship shoe shop shot
    show shut sick side sigh sign silk sing sink site size skin slip slow snow soft soil sold
    sole some song soon sore sort soul spin spot star stay step stop such suit sure swim tail
    take tale talk tall tank tape task team tear tell tend term test text than that them then
    they thin this thus tide tidy till time tiny tire told toll tone took tool tore torn tour
    town trap tree trip true tune turn twin type ugly unit upon used user vast very view vote
    wage wait wake walk wall want warm warn wash wave weak wear week well went were west what
    when whom wide wife wild will wind wine wing wipe wire wise wish with woke wolf wood word
    wore work worn wrap yard yeah year your zero zone
    """.split()
)
