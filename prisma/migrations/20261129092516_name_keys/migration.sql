-- Author and topic names become unique in the database, in the form people read them as one
-- name: the name key (Unicode NFKC_Casefold, whitespace collapsed and trimmed; see
-- prisma/nameKey.ts). A trigger keeps it from the name on every write, whoever writes; a unique
-- index on it lets every find-or-create by name rely on INSERT ... ON CONFLICT. Existing names
-- that share a key are merged into the first filed (lowest id), keeping bylines and topic links.
-- Text already filed is put in Unicode Normalization Form C, as the API now stores all text.

-- One transaction: the data is merged entirely or not at all.
BEGIN;

-- Full case folding (CaseFolding.txt, statuses C and F), Unicode 17.0. Written by prisma/nameKey.ts.
CREATE OR REPLACE FUNCTION "newsgraph_casefold"(input text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fold$
  SELECT replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(translate(input, 'ABCDEFGHIJKLMNOPQRSTUVWXYZµÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮĲĴĶĹĻĽĿŁŃŅŇŊŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶŸŹŻŽſƁƂƄƆƇƉƊƋƎƏƐƑƓƔƖƗƘƜƝƟƠƢƤƦƧƩƬƮƯƱƲƳƵƷƸƼǄǅǇǈǊǋǍǏǑǓǕǗǙǛǞǠǢǤǦǨǪǬǮǱǲǴǶǷǸǺǼǾȀȂȄȆȈȊȌȎȐȒȔȖȘȚȜȞȠȢȤȦȨȪȬȮȰȲȺȻȽȾɁɃɄɅɆɈɊɌɎͅͰͲͶͿΆΈΉΊΌΎΏΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩΪΫςϏϐϑϕϖϘϚϜϞϠϢϤϦϨϪϬϮϰϱϴϵϷϹϺϽϾϿЀЁЂЃЄЅІЇЈЉЊЋЌЍЎЏАБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯѠѢѤѦѨѪѬѮѰѲѴѶѸѺѼѾҀҊҌҎҐҒҔҖҘҚҜҞҠҢҤҦҨҪҬҮҰҲҴҶҸҺҼҾӀӁӃӅӇӉӋӍӐӒӔӖӘӚӜӞӠӢӤӦӨӪӬӮӰӲӴӶӸӺӼӾԀԂԄԆԈԊԌԎԐԒԔԖԘԚԜԞԠԢԤԦԨԪԬԮԱԲԳԴԵԶԷԸԹԺԻԼԽԾԿՀՁՂՃՄՅՆՇՈՉՊՋՌՍՎՏՐՑՒՓՔՕՖႠႡႢႣႤႥႦႧႨႩႪႫႬႭႮႯႰႱႲႳႴႵႶႷႸႹႺႻႼႽႾႿჀჁჂჃჄჅჇჍᏸᏹᏺᏻᏼᏽᲀᲁᲂᲃᲄᲅᲆᲇᲈᲉᲐᲑᲒᲓᲔᲕᲖᲗᲘᲙᲚᲛᲜᲝᲞᲟᲠᲡᲢᲣᲤᲥᲦᲧᲨᲩᲪᲫᲬᲭᲮᲯᲰᲱᲲᲳᲴᲵᲶᲷᲸᲹᲺᲽᲾᲿḀḂḄḆḈḊḌḎḐḒḔḖḘḚḜḞḠḢḤḦḨḪḬḮḰḲḴḶḸḺḼḾṀṂṄṆṈṊṌṎṐṒṔṖṘṚṜṞṠṢṤṦṨṪṬṮṰṲṴṶṸṺṼṾẀẂẄẆẈẊẌẎẐẒẔẛẠẢẤẦẨẪẬẮẰẲẴẶẸẺẼẾỀỂỄỆỈỊỌỎỐỒỔỖỘỚỜỞỠỢỤỦỨỪỬỮỰỲỴỶỸỺỼỾἈἉἊἋἌἍἎἏἘἙἚἛἜἝἨἩἪἫἬἭἮἯἸἹἺἻἼἽἾἿὈὉὊὋὌὍὙὛὝὟὨὩὪὫὬὭὮὯᾸᾹᾺΆιῈΈῊΉῘῙῚΊῨῩῪΎῬῸΌῺΏΩKÅℲⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩⅪⅫⅬⅭⅮⅯↃⒶⒷⒸⒹⒺⒻⒼⒽⒾⒿⓀⓁⓂⓃⓄⓅⓆⓇⓈⓉⓊⓋⓌⓍⓎⓏⰀⰁⰂⰃⰄⰅⰆⰇⰈⰉⰊⰋⰌⰍⰎⰏⰐⰑⰒⰓⰔⰕⰖⰗⰘⰙⰚⰛⰜⰝⰞⰟⰠⰡⰢⰣⰤⰥⰦⰧⰨⰩⰪⰫⰬⰭⰮⰯⱠⱢⱣⱤⱧⱩⱫⱭⱮⱯⱰⱲⱵⱾⱿⲀⲂⲄⲆⲈⲊⲌⲎⲐⲒⲔⲖⲘⲚⲜⲞⲠⲢⲤⲦⲨⲪⲬⲮⲰⲲⲴⲶⲸⲺⲼⲾⳀⳂⳄⳆⳈⳊⳌⳎⳐⳒⳔⳖⳘⳚⳜⳞⳠⳢⳫⳭⳲꙀꙂꙄꙆꙈꙊꙌꙎꙐꙒꙔꙖꙘꙚꙜꙞꙠꙢꙤꙦꙨꙪꙬꚀꚂꚄꚆꚈꚊꚌꚎꚐꚒꚔꚖꚘꚚꜢꜤꜦꜨꜪꜬꜮꜲꜴꜶꜸꜺꜼꜾꝀꝂꝄꝆꝈꝊꝌꝎꝐꝒꝔꝖꝘꝚꝜꝞꝠꝢꝤꝦꝨꝪꝬꝮꝹꝻꝽꝾꞀꞂꞄꞆꞋꞍꞐꞒꞖꞘꞚꞜꞞꞠꞢꞤꞦꞨꞪꞫꞬꞭꞮꞰꞱꞲꞳꞴꞶꞸꞺꞼꞾꟀꟂꟄꟅꟆꟇꟉꟋꟌ꟎Ꟑ꟒꟔ꟖꟘꟚꟜꟵꭰꭱꭲꭳꭴꭵꭶꭷꭸꭹꭺꭻꭼꭽꭾꭿꮀꮁꮂꮃꮄꮅꮆꮇꮈꮉꮊꮋꮌꮍꮎꮏꮐꮑꮒꮓꮔꮕꮖꮗꮘꮙꮚꮛꮜꮝꮞꮟꮠꮡꮢꮣꮤꮥꮦꮧꮨꮩꮪꮫꮬꮭꮮꮯꮰꮱꮲꮳꮴꮵꮶꮷꮸꮹꮺꮻꮼꮽꮾꮿＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ𐐀𐐁𐐂𐐃𐐄𐐅𐐆𐐇𐐈𐐉𐐊𐐋𐐌𐐍𐐎𐐏𐐐𐐑𐐒𐐓𐐔𐐕𐐖𐐗𐐘𐐙𐐚𐐛𐐜𐐝𐐞𐐟𐐠𐐡𐐢𐐣𐐤𐐥𐐦𐐧𐒰𐒱𐒲𐒳𐒴𐒵𐒶𐒷𐒸𐒹𐒺𐒻𐒼𐒽𐒾𐒿𐓀𐓁𐓂𐓃𐓄𐓅𐓆𐓇𐓈𐓉𐓊𐓋𐓌𐓍𐓎𐓏𐓐𐓑𐓒𐓓𐕰𐕱𐕲𐕳𐕴𐕵𐕶𐕷𐕸𐕹𐕺𐕼𐕽𐕾𐕿𐖀𐖁𐖂𐖃𐖄𐖅𐖆𐖇𐖈𐖉𐖊𐖌𐖍𐖎𐖏𐖐𐖑𐖒𐖔𐖕𐲀𐲁𐲂𐲃𐲄𐲅𐲆𐲇𐲈𐲉𐲊𐲋𐲌𐲍𐲎𐲏𐲐𐲑𐲒𐲓𐲔𐲕𐲖𐲗𐲘𐲙𐲚𐲛𐲜𐲝𐲞𐲟𐲠𐲡𐲢𐲣𐲤𐲥𐲦𐲧𐲨𐲩𐲪𐲫𐲬𐲭𐲮𐲯𐲰𐲱𐲲𐵐𐵑𐵒𐵓𐵔𐵕𐵖𐵗𐵘𐵙𐵚𐵛𐵜𐵝𐵞𐵟𐵠𐵡𐵢𐵣𐵤𐵥𑢠𑢡𑢢𑢣𑢤𑢥𑢦𑢧𑢨𑢩𑢪𑢫𑢬𑢭𑢮𑢯𑢰𑢱𑢲𑢳𑢴𑢵𑢶𑢷𑢸𑢹𑢺𑢻𑢼𑢽𑢾𑢿𖹀𖹁𖹂𖹃𖹄𖹅𖹆𖹇𖹈𖹉𖹊𖹋𖹌𖹍𖹎𖹏𖹐𖹑𖹒𖹓𖹔𖹕𖹖𖹗𖹘𖹙𖹚𖹛𖹜𖹝𖹞𖹟𖺠𖺡𖺢𖺣𖺤𖺥𖺦𖺧𖺨𖺩𖺪𖺫𖺬𖺭𖺮𖺯𖺰𖺱𖺲𖺳𖺴𖺵𖺶𖺷𖺸𞤀𞤁𞤂𞤃𞤄𞤅𞤆𞤇𞤈𞤉𞤊𞤋𞤌𞤍𞤎𞤏𞤐𞤑𞤒𞤓𞤔𞤕𞤖𞤗𞤘𞤙𞤚𞤛𞤜𞤝𞤞𞤟𞤠𞤡', 'abcdefghijklmnopqrstuvwxyzμàáâãäåæçèéêëìíîïðñòóôõöøùúûüýþāăąćĉċčďđēĕėęěĝğġģĥħĩīĭįĳĵķĺļľŀłńņňŋōŏőœŕŗřśŝşšţťŧũūŭůűųŵŷÿźżžsɓƃƅɔƈɖɗƌǝəɛƒɠɣɩɨƙɯɲɵơƣƥʀƨʃƭʈưʊʋƴƶʒƹƽǆǆǉǉǌǌǎǐǒǔǖǘǚǜǟǡǣǥǧǩǫǭǯǳǳǵƕƿǹǻǽǿȁȃȅȇȉȋȍȏȑȓȕȗșțȝȟƞȣȥȧȩȫȭȯȱȳⱥȼƚⱦɂƀʉʌɇɉɋɍɏιͱͳͷϳάέήίόύώαβγδεζηθικλμνξοπρστυφχψωϊϋσϗβθφπϙϛϝϟϡϣϥϧϩϫϭϯκρθεϸϲϻͻͼͽѐёђѓєѕіїјљњћќѝўџабвгдежзийклмнопрстуфхцчшщъыьэюяѡѣѥѧѩѫѭѯѱѳѵѷѹѻѽѿҁҋҍҏґғҕҗҙқҝҟҡңҥҧҩҫҭүұҳҵҷҹһҽҿӏӂӄӆӈӊӌӎӑӓӕӗәӛӝӟӡӣӥӧөӫӭӯӱӳӵӷӹӻӽӿԁԃԅԇԉԋԍԏԑԓԕԗԙԛԝԟԡԣԥԧԩԫԭԯաբգդեզէըթժիլխծկհձղճմյնշոչպջռսվտրցւփքօֆⴀⴁⴂⴃⴄⴅⴆⴇⴈⴉⴊⴋⴌⴍⴎⴏⴐⴑⴒⴓⴔⴕⴖⴗⴘⴙⴚⴛⴜⴝⴞⴟⴠⴡⴢⴣⴤⴥⴧⴭᏰᏱᏲᏳᏴᏵвдосттъѣꙋᲊაბგდევზთიკლმნოპჟრსტუფქღყშჩცძწჭხჯჰჱჲჳჴჵჶჷჸჹჺჽჾჿḁḃḅḇḉḋḍḏḑḓḕḗḙḛḝḟḡḣḥḧḩḫḭḯḱḳḵḷḹḻḽḿṁṃṅṇṉṋṍṏṑṓṕṗṙṛṝṟṡṣṥṧṩṫṭṯṱṳṵṷṹṻṽṿẁẃẅẇẉẋẍẏẑẓẕṡạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹỻỽỿἀἁἂἃἄἅἆἇἐἑἒἓἔἕἠἡἢἣἤἥἦἧἰἱἲἳἴἵἶἷὀὁὂὃὄὅὑὓὕὗὠὡὢὣὤὥὦὧᾰᾱὰάιὲέὴήῐῑὶίῠῡὺύῥὸόὼώωkåⅎⅰⅱⅲⅳⅴⅵⅶⅷⅸⅹⅺⅻⅼⅽⅾⅿↄⓐⓑⓒⓓⓔⓕⓖⓗⓘⓙⓚⓛⓜⓝⓞⓟⓠⓡⓢⓣⓤⓥⓦⓧⓨⓩⰰⰱⰲⰳⰴⰵⰶⰷⰸⰹⰺⰻⰼⰽⰾⰿⱀⱁⱂⱃⱄⱅⱆⱇⱈⱉⱊⱋⱌⱍⱎⱏⱐⱑⱒⱓⱔⱕⱖⱗⱘⱙⱚⱛⱜⱝⱞⱟⱡɫᵽɽⱨⱪⱬɑɱɐɒⱳⱶȿɀⲁⲃⲅⲇⲉⲋⲍⲏⲑⲓⲕⲗⲙⲛⲝⲟⲡⲣⲥⲧⲩⲫⲭⲯⲱⲳⲵⲷⲹⲻⲽⲿⳁⳃⳅⳇⳉⳋⳍⳏⳑⳓⳕⳗⳙⳛⳝⳟⳡⳣⳬⳮⳳꙁꙃꙅꙇꙉꙋꙍꙏꙑꙓꙕꙗꙙꙛꙝꙟꙡꙣꙥꙧꙩꙫꙭꚁꚃꚅꚇꚉꚋꚍꚏꚑꚓꚕꚗꚙꚛꜣꜥꜧꜩꜫꜭꜯꜳꜵꜷꜹꜻꜽꜿꝁꝃꝅꝇꝉꝋꝍꝏꝑꝓꝕꝗꝙꝛꝝꝟꝡꝣꝥꝧꝩꝫꝭꝯꝺꝼᵹꝿꞁꞃꞅꞇꞌɥꞑꞓꞗꞙꞛꞝꞟꞡꞣꞥꞧꞩɦɜɡɬɪʞʇʝꭓꞵꞷꞹꞻꞽꞿꟁꟃꞔʂᶎꟈꟊɤꟍ꟏ꟑꟓꟕꟗꟙꟛƛꟶᎠᎡᎢᎣᎤᎥᎦᎧᎨᎩᎪᎫᎬᎭᎮᎯᎰᎱᎲᎳᎴᎵᎶᎷᎸᎹᎺᎻᎼᎽᎾᎿᏀᏁᏂᏃᏄᏅᏆᏇᏈᏉᏊᏋᏌᏍᏎᏏᏐᏑᏒᏓᏔᏕᏖᏗᏘᏙᏚᏛᏜᏝᏞᏟᏠᏡᏢᏣᏤᏥᏦᏧᏨᏩᏪᏫᏬᏭᏮᏯａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ𐐨𐐩𐐪𐐫𐐬𐐭𐐮𐐯𐐰𐐱𐐲𐐳𐐴𐐵𐐶𐐷𐐸𐐹𐐺𐐻𐐼𐐽𐐾𐐿𐑀𐑁𐑂𐑃𐑄𐑅𐑆𐑇𐑈𐑉𐑊𐑋𐑌𐑍𐑎𐑏𐓘𐓙𐓚𐓛𐓜𐓝𐓞𐓟𐓠𐓡𐓢𐓣𐓤𐓥𐓦𐓧𐓨𐓩𐓪𐓫𐓬𐓭𐓮𐓯𐓰𐓱𐓲𐓳𐓴𐓵𐓶𐓷𐓸𐓹𐓺𐓻𐖗𐖘𐖙𐖚𐖛𐖜𐖝𐖞𐖟𐖠𐖡𐖣𐖤𐖥𐖦𐖧𐖨𐖩𐖪𐖫𐖬𐖭𐖮𐖯𐖰𐖱𐖳𐖴𐖵𐖶𐖷𐖸𐖹𐖻𐖼𐳀𐳁𐳂𐳃𐳄𐳅𐳆𐳇𐳈𐳉𐳊𐳋𐳌𐳍𐳎𐳏𐳐𐳑𐳒𐳓𐳔𐳕𐳖𐳗𐳘𐳙𐳚𐳛𐳜𐳝𐳞𐳟𐳠𐳡𐳢𐳣𐳤𐳥𐳦𐳧𐳨𐳩𐳪𐳫𐳬𐳭𐳮𐳯𐳰𐳱𐳲𐵰𐵱𐵲𐵳𐵴𐵵𐵶𐵷𐵸𐵹𐵺𐵻𐵼𐵽𐵾𐵿𐶀𐶁𐶂𐶃𐶄𐶅𑣀𑣁𑣂𑣃𑣄𑣅𑣆𑣇𑣈𑣉𑣊𑣋𑣌𑣍𑣎𑣏𑣐𑣑𑣒𑣓𑣔𑣕𑣖𑣗𑣘𑣙𑣚𑣛𑣜𑣝𑣞𑣟𖹠𖹡𖹢𖹣𖹤𖹥𖹦𖹧𖹨𖹩𖹪𖹫𖹬𖹭𖹮𖹯𖹰𖹱𖹲𖹳𖹴𖹵𖹶𖹷𖹸𖹹𖹺𖹻𖹼𖹽𖹾𖹿𖺻𖺼𖺽𖺾𖺿𖻀𖻁𖻂𖻃𖻄𖻅𖻆𖻇𖻈𖻉𖻊𖻋𖻌𖻍𖻎𖻏𖻐𖻑𖻒𖻓𞤢𞤣𞤤𞤥𞤦𞤧𞤨𞤩𞤪𞤫𞤬𞤭𞤮𞤯𞤰𞤱𞤲𞤳𞤴𞤵𞤶𞤷𞤸𞤹𞤺𞤻𞤼𞤽𞤾𞤿𞥀𞥁𞥂𞥃'), 'ß', 'ss'), 'İ', 'i̇'), 'ŉ', 'ʼn'), 'ǰ', 'ǰ'), 'ΐ', 'ΐ'), 'ΰ', 'ΰ'), 'և', 'եւ'), 'ẖ', 'ẖ'), 'ẗ', 'ẗ'), 'ẘ', 'ẘ'), 'ẙ', 'ẙ'), 'ẚ', 'aʾ'), 'ẞ', 'ss'), 'ὐ', 'ὐ'), 'ὒ', 'ὒ'), 'ὔ', 'ὔ'), 'ὖ', 'ὖ'), 'ᾀ', 'ἀι'), 'ᾁ', 'ἁι'), 'ᾂ', 'ἂι'), 'ᾃ', 'ἃι'), 'ᾄ', 'ἄι'), 'ᾅ', 'ἅι'), 'ᾆ', 'ἆι'), 'ᾇ', 'ἇι'), 'ᾈ', 'ἀι'), 'ᾉ', 'ἁι'), 'ᾊ', 'ἂι'), 'ᾋ', 'ἃι'), 'ᾌ', 'ἄι'), 'ᾍ', 'ἅι'), 'ᾎ', 'ἆι'), 'ᾏ', 'ἇι'), 'ᾐ', 'ἠι'), 'ᾑ', 'ἡι'), 'ᾒ', 'ἢι'), 'ᾓ', 'ἣι'), 'ᾔ', 'ἤι'), 'ᾕ', 'ἥι'), 'ᾖ', 'ἦι'), 'ᾗ', 'ἧι'), 'ᾘ', 'ἠι'), 'ᾙ', 'ἡι'), 'ᾚ', 'ἢι'), 'ᾛ', 'ἣι'), 'ᾜ', 'ἤι'), 'ᾝ', 'ἥι'), 'ᾞ', 'ἦι'), 'ᾟ', 'ἧι'), 'ᾠ', 'ὠι'), 'ᾡ', 'ὡι'), 'ᾢ', 'ὢι'), 'ᾣ', 'ὣι'), 'ᾤ', 'ὤι'), 'ᾥ', 'ὥι'), 'ᾦ', 'ὦι'), 'ᾧ', 'ὧι'), 'ᾨ', 'ὠι'), 'ᾩ', 'ὡι'), 'ᾪ', 'ὢι'), 'ᾫ', 'ὣι'), 'ᾬ', 'ὤι'), 'ᾭ', 'ὥι'), 'ᾮ', 'ὦι'), 'ᾯ', 'ὧι'), 'ᾲ', 'ὰι'), 'ᾳ', 'αι'), 'ᾴ', 'άι'), 'ᾶ', 'ᾶ'), 'ᾷ', 'ᾶι'), 'ᾼ', 'αι'), 'ῂ', 'ὴι'), 'ῃ', 'ηι'), 'ῄ', 'ήι'), 'ῆ', 'ῆ'), 'ῇ', 'ῆι'), 'ῌ', 'ηι'), 'ῒ', 'ῒ'), 'ΐ', 'ΐ'), 'ῖ', 'ῖ'), 'ῗ', 'ῗ'), 'ῢ', 'ῢ'), 'ΰ', 'ΰ'), 'ῤ', 'ῤ'), 'ῦ', 'ῦ'), 'ῧ', 'ῧ'), 'ῲ', 'ὼι'), 'ῳ', 'ωι'), 'ῴ', 'ώι'), 'ῶ', 'ῶ'), 'ῷ', 'ῶι'), 'ῼ', 'ωι'), 'ﬀ', 'ff'), 'ﬁ', 'fi'), 'ﬂ', 'fl'), 'ﬃ', 'ffi'), 'ﬄ', 'ffl'), 'ﬅ', 'st'), 'ﬆ', 'st'), 'ﬓ', 'մն'), 'ﬔ', 'մե'), 'ﬕ', 'մի'), 'ﬖ', 'վն'), 'ﬗ', 'մխ')
$fold$;

-- The name key (NFKC_Casefold, whitespace collapsed and trimmed). Written by prisma/nameKey.ts.
CREATE OR REPLACE FUNCTION "newsgraph_name_key"(name text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $key$
  SELECT btrim(regexp_replace(
    normalize("newsgraph_casefold"(normalize(regexp_replace(name, '[\u00AD\u034F\u061C\u115F-\u1160\u17B4-\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFF8\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A\U000E0000-\U000E0FFF]', '', 'g'), NFKC)), NFKC),
    '[\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+', ' ', 'g'), ' ')
$key$;

-- DropIndex
DROP INDEX "Author_name_key";

-- DropIndex
DROP INDEX "Topic_name_key";

-- Text in NFC (the search vector trigger recomputes the rows it touches). Names may now collide
-- (precomposed and decomposed spellings of one name): the merge below takes care of them.
UPDATE "Article" SET
  "title" = normalize("title", NFC),
  "source" = normalize("source", NFC),
  "description" = normalize("description", NFC),
  "summary" = normalize("summary", NFC),
  "body" = normalize("body", NFC)
WHERE NOT ("title" IS NFC NORMALIZED AND "source" IS NFC NORMALIZED AND "description" IS NFC NORMALIZED
  AND "summary" IS NFC NORMALIZED AND "body" IS NFC NORMALIZED);
-- Links filed decomposed get their NFC spelling, and the key the API computes from it now (the
-- WHATWG URL serializer's percent-encoded UTF-8 of the NFC text); a key that another article
-- already has is left as it was, rather than merging two articles.
CREATE FUNCTION pg_temp."newsgraph_nfc_url_key"(url_key text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  bytes bytea := ''::bytea;
  i int := 1;
  decoded text;
  out text := '';
  ch text;
BEGIN
  WHILE i <= length(url_key) LOOP
    IF substr(url_key, i, 3) ~ '^%[89A-Fa-f][0-9A-Fa-f]$' THEN
      bytes := bytes || decode(substr(url_key, i + 1, 2), 'hex');
      i := i + 3;
    ELSE
      bytes := bytes || convert_to(substr(url_key, i, 1), 'UTF8');
      i := i + 1;
    END IF;
  END LOOP;
  decoded := normalize(convert_from(bytes, 'UTF8'), NFC);
  FOREACH ch IN ARRAY regexp_split_to_array(decoded, '') LOOP
    out := out || CASE WHEN ascii(ch) < 128 THEN ch
                       ELSE upper(regexp_replace(encode(convert_to(ch, 'UTF8'), 'hex'), '(..)', '%\1', 'g')) END;
  END LOOP;
  RETURN out;
EXCEPTION WHEN OTHERS THEN
  RETURN url_key; -- not UTF-8 underneath: left as it was
END
$$;
UPDATE "Article" AS a SET "url" = normalize(a."url", NFC), "urlKey" = k."key"
FROM (SELECT "id", pg_temp."newsgraph_nfc_url_key"("urlKey") AS "key" FROM "Article" WHERE "url" IS NOT NFC NORMALIZED) AS k
WHERE a."id" = k."id" AND NOT EXISTS (SELECT 1 FROM "Article" o WHERE o."urlKey" = k."key" AND o."id" <> a."id");
UPDATE "Author" SET "name" = normalize("name", NFC) WHERE "name" IS NOT NFC NORMALIZED;
UPDATE "Topic" SET "name" = normalize("name", NFC) WHERE "name" IS NOT NFC NORMALIZED;

-- AlterTable
ALTER TABLE "Author" ADD COLUMN "nameKey" TEXT;
UPDATE "Author" SET "nameKey" = "newsgraph_name_key"("name");

-- AlterTable
ALTER TABLE "Topic" ADD COLUMN "nameKey" TEXT;
UPDATE "Topic" SET "nameKey" = "newsgraph_name_key"("name");

-- Authors sharing a key: every byline naming one of them names the first instead, in the place
-- of the earliest of them, the others keeping their order. The article-count triggers follow.
CREATE TEMPORARY TABLE "newsgraph_author_merge" AS
  SELECT "id", min("id") OVER (PARTITION BY "nameKey") AS "keep" FROM "Author";
CREATE TEMPORARY TABLE "newsgraph_byline_merge" AS
  SELECT b."articleId", m."keep" AS "authorId", min(b."position") AS "position"
  FROM "ArticleAuthor" b JOIN "newsgraph_author_merge" m ON m."id" = b."authorId"
  WHERE b."articleId" IN (
    SELECT d."articleId" FROM "ArticleAuthor" d JOIN "newsgraph_author_merge" dm ON dm."id" = d."authorId"
    WHERE dm."id" <> dm."keep")
  GROUP BY b."articleId", m."keep";
DELETE FROM "ArticleAuthor" WHERE "articleId" IN (SELECT "articleId" FROM "newsgraph_byline_merge");
INSERT INTO "ArticleAuthor" ("articleId", "authorId", "position")
  SELECT "articleId", "authorId", (row_number() OVER (PARTITION BY "articleId" ORDER BY "position") - 1)::smallint
  FROM "newsgraph_byline_merge";
UPDATE "Article" SET "version" = "version" + 1, "updatedAt" = CURRENT_TIMESTAMP
  WHERE "id" IN (SELECT "articleId" FROM "newsgraph_byline_merge");
DELETE FROM "Author" a USING "newsgraph_author_merge" m WHERE m."id" = a."id" AND m."id" <> m."keep";
DROP TABLE "newsgraph_author_merge", "newsgraph_byline_merge";

-- Topics sharing a key: their articles move to the first, duplicates collapse; the first keeps its slug.
CREATE TEMPORARY TABLE "newsgraph_topic_merge" AS
  SELECT "id", min("id") OVER (PARTITION BY "nameKey") AS "keep" FROM "Topic";
UPDATE "Article" SET "version" = "version" + 1, "updatedAt" = CURRENT_TIMESTAMP
  WHERE "id" IN (SELECT t."articleId" FROM "ArticleTopic" t JOIN "newsgraph_topic_merge" m ON m."id" = t."topicId"
                 WHERE m."id" <> m."keep");
INSERT INTO "ArticleTopic" ("articleId", "topicId")
  SELECT t."articleId", m."keep" FROM "ArticleTopic" t JOIN "newsgraph_topic_merge" m ON m."id" = t."topicId"
  WHERE m."id" <> m."keep"
  ON CONFLICT DO NOTHING;
DELETE FROM "ArticleTopic" t USING "newsgraph_topic_merge" m WHERE m."id" = t."topicId" AND m."id" <> m."keep";
DELETE FROM "Topic" t USING "newsgraph_topic_merge" m WHERE m."id" = t."id" AND m."id" <> m."keep";
DROP TABLE "newsgraph_topic_merge";

ALTER TABLE "Author" ALTER COLUMN "nameKey" SET NOT NULL;
ALTER TABLE "Topic" ALTER COLUMN "nameKey" SET NOT NULL;

-- CreateIndex
CREATE UNIQUE INDEX "Author_nameKey_key" ON "Author"("nameKey");

-- CreateIndex
CREATE INDEX "Author_name_id_idx" ON "Author"("name", "id");

-- CreateIndex
CREATE UNIQUE INDEX "Topic_nameKey_key" ON "Topic"("nameKey");

-- CreateIndex
CREATE INDEX "Topic_name_id_idx" ON "Topic"("name", "id");

-- The key follows the name on every insert and rename, whoever writes.
CREATE FUNCTION "newsgraph_set_name_key"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."nameKey" := "newsgraph_name_key"(NEW."name");
  RETURN NEW;
END
$$;

CREATE TRIGGER "Author_nameKey_trigger" BEFORE INSERT OR UPDATE OF "name", "nameKey" ON "Author"
  FOR EACH ROW EXECUTE FUNCTION "newsgraph_set_name_key"();

CREATE TRIGGER "Topic_nameKey_trigger" BEFORE INSERT OR UPDATE OF "name", "nameKey" ON "Topic"
  FOR EACH ROW EXECUTE FUNCTION "newsgraph_set_name_key"();

COMMIT;
