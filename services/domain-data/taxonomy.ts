/**
 * Medical curriculum taxonomy (seed data) — the single source of truth for `topics` and
 * `topic_relationships`, used by the PostgreSQL loader (postgres/taxonomy/load.ts) and the simulator.
 *
 * Organisation follows the USMLE Step 1 content outline: organ systems (level 0) crossed with
 * disciplines or, for the non-organ "systems", major areas (level 1), then specific topics (level 2).
 *
 * Board weights (fraction of the exam):
 *  - System weight = midpoint of the published Step 1 percentage range for the system, normalised so that
 *    weights sum to 1 across all systems. Where the outline publishes one range for a pair of systems
 *    (e.g. "Respiratory & Renal/Urinary 11–15%"), the pair's midpoint is split between the two systems
 *    by the `share` given in SYSTEM_WEIGHT_TABLE. "Human Development" (1–3%) is not modelled as a system;
 *    its content lives in the embryology/development topics of the organ systems.
 *  - Within a system, the weight is split across its level-1 areas in proportion to the midpoint of the
 *    published discipline range (Pathology 44–52%, Physiology 25–35%, ...) or, for major areas, an explicit
 *    relative weight. A discipline area covering fewer than FULL_AREA_COVERAGE topic-units (sum of its
 *    topics' relative weights) is scaled down in proportion, so that e.g. a lone microbiology topic does not
 *    outweigh each of nine pathology topics. Within an area, the weight is split across its topics in
 *    proportion to each topic's relative weight (default 1). Hence every parent's weight equals the sum of
 *    its children's weights.
 *
 * Ranges are from the public outline as published at the time of writing; they are planning weights for
 * study prioritisation, not an official blueprint.
 *
 * Slugs are stable identifiers (`<system>.<area>.<topic>`, lowercase, dots and dashes only): never rename
 * a slug once data references it; add a new topic instead.
 */

export type Discipline =
  | 'pathology'
  | 'physiology'
  | 'pharmacology'
  | 'biochemistry-nutrition'
  | 'microbiology'
  | 'immunology'
  | 'gross-anatomy-embryology'
  | 'histology-cell-biology'
  | 'behavioral-sciences'
  | 'genetics';

export type SystemId =
  | 'gen'
  | 'immune'
  | 'heme'
  | 'behav'
  | 'neuro'
  | 'derm'
  | 'msk'
  | 'cardio'
  | 'resp'
  | 'renal'
  | 'gi'
  | 'repro'
  | 'endo'
  | 'multi'
  | 'biostat'
  | 'social';

export type TopicLevel = 0 | 1 | 2;

export interface Topic {
  /** Stable slug, e.g. 'cardio.path.heart-failure'. */
  readonly id: string;
  readonly name: string;
  /** Slug of the parent topic; null for systems (level 0). */
  readonly parentId: string | null;
  readonly level: TopicLevel;
  readonly system: SystemId;
  /** Null for systems (level 0). */
  readonly discipline: Discipline | null;
  /** Fraction of the exam; a parent's weight is the sum of its children's. */
  readonly boardWeight: number;
  readonly description: string;
}

export type RelationshipKind = 'prerequisite' | 'related';

export interface TopicRelationship {
  /** For 'prerequisite': `from` should be learned before `to`. 'related' edges are stored once, undirected. */
  readonly from: string;
  readonly to: string;
  readonly kind: RelationshipKind;
  /** In (0, 1]: how strongly mastery of one bears on the other. */
  readonly strength: number;
}

export const DISCIPLINES: Readonly<
  Record<
    Discipline,
    { readonly name: string; readonly slug: string; readonly range: readonly [number, number] }
  >
> = {
  pathology: { name: 'Pathology', slug: 'path', range: [44, 52] },
  physiology: { name: 'Physiology', slug: 'phys', range: [25, 35] },
  pharmacology: { name: 'Pharmacology', slug: 'pharm', range: [15, 22] },
  'biochemistry-nutrition': { name: 'Biochemistry & Nutrition', slug: 'biochem', range: [14, 24] },
  microbiology: { name: 'Microbiology', slug: 'micro', range: [10, 15] },
  immunology: { name: 'Immunology', slug: 'immuno', range: [6, 11] },
  'gross-anatomy-embryology': { name: 'Gross Anatomy & Embryology', slug: 'anat', range: [11, 15] },
  'histology-cell-biology': { name: 'Histology & Cell Biology', slug: 'histo', range: [8, 13] },
  'behavioral-sciences': { name: 'Behavioral Sciences', slug: 'behav', range: [8, 13] },
  genetics: { name: 'Genetics', slug: 'genetics', range: [5, 9] },
};

export interface SystemWeightRow {
  readonly system: SystemId;
  readonly name: string;
  /** Outline line the range belongs to (shared by paired systems). */
  readonly outlineLine: string;
  /** Published percentage range of that outline line. */
  readonly range: readonly [number, number];
  /** Share of the line's midpoint given to this system (1 when the line is this system alone). */
  readonly share: number;
}

/** Published Step 1 system ranges (percent of exam) and how paired lines are split. */
export const SYSTEM_WEIGHT_TABLE: readonly SystemWeightRow[] = [
  {
    system: 'gen',
    name: 'General Principles of Foundational Science',
    outlineLine: 'General Principles of Foundational Science',
    range: [12, 16],
    share: 1,
  },
  {
    system: 'immune',
    name: 'Immune System',
    outlineLine: 'Blood & Lymphoreticular/Immune Systems',
    range: [9, 13],
    share: 0.4,
  },
  {
    system: 'heme',
    name: 'Blood & Lymphoreticular System',
    outlineLine: 'Blood & Lymphoreticular/Immune Systems',
    range: [9, 13],
    share: 0.6,
  },
  {
    system: 'behav',
    name: 'Behavioral Health',
    outlineLine: 'Behavioral Health & Nervous Systems/Special Senses',
    range: [10, 14],
    share: 0.4,
  },
  {
    system: 'neuro',
    name: 'Nervous System & Special Senses',
    outlineLine: 'Behavioral Health & Nervous Systems/Special Senses',
    range: [10, 14],
    share: 0.6,
  },
  {
    system: 'derm',
    name: 'Skin & Subcutaneous Tissue',
    outlineLine: 'Musculoskeletal, Skin & Subcutaneous Tissue',
    range: [8, 12],
    share: 0.35,
  },
  {
    system: 'msk',
    name: 'Musculoskeletal System',
    outlineLine: 'Musculoskeletal, Skin & Subcutaneous Tissue',
    range: [8, 12],
    share: 0.65,
  },
  {
    system: 'cardio',
    name: 'Cardiovascular System',
    outlineLine: 'Cardiovascular System',
    range: [7, 11],
    share: 1,
  },
  {
    system: 'resp',
    name: 'Respiratory System',
    outlineLine: 'Respiratory & Renal/Urinary Systems',
    range: [11, 15],
    share: 0.5,
  },
  {
    system: 'renal',
    name: 'Renal & Urinary System',
    outlineLine: 'Respiratory & Renal/Urinary Systems',
    range: [11, 15],
    share: 0.5,
  },
  {
    system: 'gi',
    name: 'Gastrointestinal System',
    outlineLine: 'Gastrointestinal System',
    range: [6, 10],
    share: 1,
  },
  {
    system: 'repro',
    name: 'Reproductive System',
    outlineLine: 'Reproductive & Endocrine Systems',
    range: [12, 16],
    share: 0.5,
  },
  {
    system: 'endo',
    name: 'Endocrine System',
    outlineLine: 'Reproductive & Endocrine Systems',
    range: [12, 16],
    share: 0.5,
  },
  {
    system: 'multi',
    name: 'Multisystem Processes & Disorders',
    outlineLine: 'Multisystem Processes & Disorders',
    range: [8, 12],
    share: 1,
  },
  {
    system: 'biostat',
    name: 'Biostatistics & Epidemiology/Population Health',
    outlineLine: 'Biostatistics & Epidemiology/Population Health',
    range: [4, 6],
    share: 1,
  },
  {
    system: 'social',
    name: 'Social Sciences: Communication, Ethics & Patient Safety',
    outlineLine: 'Social Sciences: Communication and Interpersonal Skills',
    range: [6, 9],
    share: 1,
  },
];

// ---------------------------------------------------------------------------------------------------------
// Content specification. Areas are either a discipline (slug and name derived from DISCIPLINES) or a
// named major area with an explicit relative weight.

/** [slug, name, description, relative weight (default 1)] */
type TopicSpec = readonly [slug: string, name: string, description: string, weight?: number];

interface AreaSpec {
  readonly discipline: Discipline;
  /** Set for major areas that are not a plain discipline (slug, name and relative weight explicit). */
  readonly area?: { readonly slug: string; readonly name: string; readonly weight: number };
  readonly description?: string;
  readonly topics: readonly TopicSpec[];
}

interface SystemSpec {
  readonly system: SystemId;
  readonly description: string;
  readonly areas: readonly AreaSpec[];
}

const SPEC: readonly SystemSpec[] = [
  {
    system: 'gen',
    description:
      'Cross-system foundations: molecular and cell biology, metabolism, genetics, general pathology.',
    areas: [
      {
        discipline: 'biochemistry-nutrition',
        topics: [
          [
            'dna-replication-repair',
            'DNA replication & repair',
            'Replication machinery, repair pathways and their defects.',
          ],
          [
            'gene-expression',
            'Transcription & translation',
            'RNA processing, the genetic code, protein synthesis and modification.',
          ],
          [
            'enzyme-kinetics',
            'Enzyme kinetics',
            'Michaelis-Menten and Lineweaver-Burk kinetics, inhibition types.',
          ],
          [
            'carbohydrate-metabolism',
            'Carbohydrate metabolism',
            'Glycolysis, gluconeogenesis, HMP shunt and their enzyme deficiencies.',
          ],
          [
            'mitochondrial-metabolism',
            'TCA cycle & oxidative phosphorylation',
            'Pyruvate dehydrogenase, TCA cycle, electron transport chain and uncouplers.',
          ],
          [
            'glycogen-storage',
            'Glycogen metabolism & storage diseases',
            'Glycogen synthesis and breakdown; von Gierke, Pompe, Cori, McArdle.',
          ],
          [
            'lipid-metabolism',
            'Lipid & lipoprotein metabolism',
            'Fatty acid synthesis and oxidation, ketogenesis, lipoproteins, familial dyslipidemias.',
          ],
          [
            'amino-acid-metabolism',
            'Amino acid metabolism',
            'Urea cycle, amino acid derivatives, PKU, MSUD, homocystinuria.',
          ],
          [
            'nucleotide-metabolism',
            'Purine & pyrimidine metabolism',
            'De novo and salvage pathways, Lesch-Nyhan, adenosine deaminase deficiency.',
          ],
          [
            'lysosomal-storage',
            'Lysosomal storage diseases',
            'Sphingolipidoses and mucopolysaccharidoses.',
            0.8,
          ],
          [
            'vitamins-minerals',
            'Vitamins & minerals',
            'Fat- and water-soluble vitamins and trace minerals: functions, deficiency, excess.',
            1.2,
          ],
          [
            'fed-fasting-states',
            'Fed, fasting & starvation states',
            'Hormonal and metabolic adaptation to feeding, fasting and starvation; malnutrition.',
          ],
        ],
      },
      {
        discipline: 'genetics',
        topics: [
          [
            'inheritance-patterns',
            'Modes of inheritance',
            'Autosomal and X-linked patterns, penetrance, pedigree analysis.',
          ],
          [
            'chromosomal-disorders',
            'Chromosomal disorders',
            'Aneuploidies, translocations, microdeletions; nondisjunction.',
          ],
          [
            'trinucleotide-repeats',
            'Trinucleotide repeat disorders',
            'Anticipation; Huntington, fragile X, myotonic dystrophy, Friedreich ataxia.',
            0.7,
          ],
          [
            'imprinting-mitochondrial',
            'Imprinting & mitochondrial inheritance',
            'Prader-Willi/Angelman, uniparental disomy, heteroplasmy.',
            0.7,
          ],
          [
            'hardy-weinberg',
            'Population genetics (Hardy-Weinberg)',
            'Allele and carrier frequency calculations, assumptions.',
            0.6,
          ],
          [
            'genetic-techniques',
            'Molecular & genetic testing techniques',
            'PCR, blotting, sequencing, karyotyping, FISH, CRISPR basics.',
            0.8,
          ],
        ],
      },
      {
        discipline: 'histology-cell-biology',
        topics: [
          [
            'cell-cycle',
            'Cell cycle & regulation',
            'Cyclins, CDKs, checkpoints, tumor suppressors in the cell cycle.',
          ],
          [
            'cell-organelles-cytoskeleton',
            'Organelles & cytoskeleton',
            'ER, Golgi, protein trafficking, microtubules, cilia and their disorders.',
          ],
          [
            'collagen-ecm',
            'Collagen & extracellular matrix',
            'Collagen synthesis, elastin; Ehlers-Danlos, osteogenesis imperfecta.',
          ],
          [
            'cell-signaling',
            'Cell signaling & membrane transport',
            'Receptors, second messengers, Na+/K+-ATPase, membrane potential.',
          ],
        ],
      },
      {
        discipline: 'pathology',
        topics: [
          [
            'cell-injury',
            'Cellular injury, adaptation & death',
            'Hypertrophy, hyperplasia, metaplasia; necrosis and apoptosis.',
          ],
          [
            'inflammation',
            'Inflammation',
            'Acute and chronic inflammation, mediators, leukocyte recruitment.',
          ],
          [
            'tissue-repair',
            'Tissue repair & wound healing',
            'Regeneration, scar formation, abnormal healing.',
            0.7,
          ],
          [
            'neoplasia',
            'Neoplasia',
            'Hallmarks of cancer, oncogenes, tumor suppressors, carcinogens, tumor markers.',
            1.3,
          ],
          ['amyloidosis', 'Amyloidosis', 'Systemic and localized amyloid types and stains.', 0.5],
        ],
      },
      {
        discipline: 'pharmacology',
        topics: [
          [
            'pharmacokinetics',
            'Pharmacokinetics',
            'Absorption, distribution, metabolism, elimination; half-life, dosing calculations.',
          ],
          [
            'pharmacodynamics',
            'Pharmacodynamics',
            'Dose-response, efficacy vs potency, agonists and antagonists, therapeutic index.',
          ],
          [
            'autonomic-drugs',
            'Autonomic pharmacology',
            'Cholinergic and adrenergic agonists and antagonists; receptor physiology.',
            1.4,
          ],
          [
            'drug-toxicity-interactions',
            'Drug toxicity & interactions',
            'CYP450 induction/inhibition, classic drug reactions.',
          ],
        ],
      },
      {
        discipline: 'microbiology',
        topics: [
          [
            'bacterial-structure-genetics',
            'Bacterial structure & genetics',
            'Cell envelope, virulence factors, toxins, transformation/transduction/conjugation.',
          ],
          [
            'viral-structure-replication',
            'Viral structure & replication',
            'DNA and RNA virus families, replication strategies, viral genetics.',
          ],
          [
            'antimicrobials',
            'Antimicrobial mechanisms & resistance',
            'Antibacterial, antiviral and antifungal drug classes, mechanisms, resistance.',
            1.3,
          ],
        ],
      },
    ],
  },
  {
    system: 'immune',
    description: 'Normal immune function, immunopathology and immunomodulating drugs.',
    areas: [
      {
        discipline: 'immunology',
        topics: [
          [
            'innate-immunity',
            'Innate immunity',
            'Barriers, phagocytes, NK cells, pattern-recognition receptors.',
          ],
          [
            'adaptive-immunity',
            'T & B cell immunity',
            'Lymphocyte development and activation, antibody classes and class switching.',
            1.3,
          ],
          [
            'mhc-antigen-presentation',
            'MHC & antigen presentation',
            'MHC I and II pathways, HLA associations.',
          ],
          [
            'complement-cytokines',
            'Complement & cytokines',
            'Complement pathways and deficiencies; key interleukins and interferons.',
          ],
          [
            'vaccines',
            'Vaccination & immune memory',
            'Live vs inactivated vaccines, passive vs active immunity.',
            0.7,
          ],
        ],
      },
      {
        discipline: 'pathology',
        topics: [
          [
            'hypersensitivity',
            'Hypersensitivity reactions',
            'Types I-IV, mechanisms and examples; transfusion reactions.',
          ],
          [
            'immunodeficiency',
            'Immunodeficiency syndromes',
            'B cell, T cell, combined, phagocyte and complement deficiencies.',
          ],
          [
            'transplant-rejection',
            'Transplant rejection',
            'Hyperacute, acute, chronic rejection and graft-versus-host disease.',
            0.7,
          ],
        ],
      },
      {
        discipline: 'pharmacology',
        topics: [
          [
            'immunosuppressants',
            'Immunosuppressants',
            'Calcineurin inhibitors, mTOR inhibitors, antimetabolites; toxicities.',
          ],
          [
            'biologics',
            'Therapeutic antibodies & biologics',
            'Monoclonal antibodies and recombinant cytokines: targets and uses.',
          ],
        ],
      },
    ],
  },
  {
    system: 'heme',
    description: 'Blood cells, hemostasis, anemias and hematologic malignancies.',
    areas: [
      {
        discipline: 'physiology',
        topics: [
          [
            'hematopoiesis',
            'Hematopoiesis & blood cells',
            'Lineages, erythropoietin, normal cell morphology and function.',
          ],
          [
            'hemostasis',
            'Hemostasis & coagulation',
            'Platelet plug formation, coagulation cascade, fibrinolysis, lab tests.',
            1.2,
          ],
          [
            'blood-groups-transfusion',
            'Blood groups & transfusion',
            'ABO and Rh systems, hemolytic disease of the newborn, transfusion products.',
            0.6,
          ],
        ],
      },
      {
        discipline: 'pathology',
        topics: [
          [
            'microcytic-anemias',
            'Microcytic anemias',
            'Iron deficiency, thalassemias, anemia of chronic disease, sideroblastic anemia.',
          ],
          [
            'macrocytic-anemias',
            'Macrocytic anemias',
            'B12 and folate deficiency, non-megaloblastic causes.',
          ],
          [
            'hemolytic-anemias',
            'Hemolytic anemias',
            'Sickle cell, spherocytosis, G6PD deficiency, autoimmune and microangiopathic hemolysis.',
            1.2,
          ],
          [
            'bleeding-thrombotic-disorders',
            'Bleeding & thrombotic disorders',
            'Hemophilia, von Willebrand disease, ITP, TTP, DIC, thrombophilias.',
            1.2,
          ],
          [
            'leukemias',
            'Leukemias & myeloproliferative neoplasms',
            'ALL, AML, CLL, CML and other myeloproliferative disorders.',
          ],
          [
            'lymphomas-plasma-cell',
            'Lymphomas & plasma cell dyscrasias',
            'Hodgkin and non-Hodgkin lymphomas, multiple myeloma.',
          ],
        ],
      },
      {
        discipline: 'pharmacology',
        topics: [
          [
            'anticoagulants',
            'Anticoagulants, antiplatelets & thrombolytics',
            'Heparins, warfarin, DOACs, antiplatelet agents, tPA; reversal.',
          ],
          [
            'antineoplastics',
            'Antineoplastic drugs',
            'Cell cycle-specific chemotherapy, targeted agents and their toxicities.',
            1.2,
          ],
        ],
      },
      {
        discipline: 'biochemistry-nutrition',
        topics: [
          [
            'heme-iron-metabolism',
            'Heme synthesis & iron metabolism',
            'Porphyrias, lead poisoning, iron absorption and storage.',
          ],
        ],
      },
      {
        discipline: 'histology-cell-biology',
        topics: [
          ['lymphoid-organs', 'Lymphoid organs', 'Structure of lymph node, spleen and thymus; asplenia.'],
        ],
      },
    ],
  },
  {
    system: 'behav',
    description:
      'Psychiatric disorders, psychopharmacology and behavioral science of development and learning.',
    areas: [
      {
        discipline: 'behavioral-sciences',
        topics: [
          [
            'development-milestones',
            'Human development & milestones',
            'Developmental milestones, changes with aging.',
          ],
          [
            'defense-mechanisms',
            'Defense mechanisms & psychological theory',
            'Mature and immature defenses, learning and conditioning.',
          ],
          [
            'sleep',
            'Sleep physiology & disorders',
            'Sleep stages, EEG waveforms, narcolepsy and other sleep disorders.',
          ],
        ],
      },
      {
        discipline: 'pathology',
        topics: [
          [
            'mood-disorders',
            'Mood disorders',
            'Major depressive, bipolar and persistent depressive disorders; suicide risk.',
            1.2,
          ],
          [
            'anxiety-disorders',
            'Anxiety, OCD & trauma-related disorders',
            'Panic, generalized anxiety, phobias, OCD, PTSD.',
          ],
          [
            'psychotic-disorders',
            'Psychotic disorders',
            'Schizophrenia spectrum disorders, delusional disorder.',
          ],
          [
            'personality-disorders',
            'Personality disorders',
            'Cluster A, B and C personality disorders.',
            0.7,
          ],
          [
            'substance-use',
            'Substance use disorders',
            'Intoxication and withdrawal syndromes for common substances.',
            1.2,
          ],
          [
            'neurodevelopmental-eating',
            'Neurodevelopmental & eating disorders',
            'ADHD, autism spectrum disorder, anorexia and bulimia nervosa.',
          ],
        ],
      },
      {
        discipline: 'pharmacology',
        topics: [
          ['antidepressants', 'Antidepressants', 'SSRIs, SNRIs, TCAs, MAOIs, atypicals; serotonin syndrome.'],
          [
            'antipsychotics',
            'Antipsychotics',
            'Typical and atypical antipsychotics; EPS, NMS, metabolic effects.',
          ],
          [
            'anxiolytics-mood-stabilizers',
            'Anxiolytics, hypnotics & mood stabilizers',
            'Benzodiazepines, Z-drugs, lithium, valproate.',
          ],
        ],
      },
    ],
  },
  {
    system: 'neuro',
    description: 'Neuroanatomy, neurophysiology, neurologic disease and the special senses.',
    areas: [
      {
        discipline: 'gross-anatomy-embryology',
        topics: [
          ['neuroembryology', 'Neuroembryology', 'Neural tube development and defects, brain vesicles.', 0.7],
          [
            'brainstem-cranial-nerves',
            'Brainstem & cranial nerves',
            'Cranial nerve nuclei and lesions, brainstem syndromes.',
            1.2,
          ],
          [
            'spinal-cord',
            'Spinal cord tracts & lesions',
            'Ascending and descending tracts; spinal cord syndromes.',
          ],
          [
            'cerebral-vasculature',
            'Cerebral vasculature & functional areas',
            'Circle of Willis, vascular territories, cortical localisation.',
          ],
        ],
      },
      {
        discipline: 'physiology',
        topics: [
          [
            'neurophysiology',
            'Neuronal signaling & neurotransmitters',
            'Action potentials, synapses, neurotransmitter synthesis and pathways.',
          ],
          [
            'csf-bbb',
            'CSF & blood-brain barrier',
            'CSF production and flow, hydrocephalus, intracranial pressure.',
            0.7,
          ],
          [
            'special-senses',
            'Vision & hearing physiology',
            'Visual pathways and field defects, auditory and vestibular function.',
          ],
        ],
      },
      {
        discipline: 'pathology',
        topics: [
          ['stroke', 'Stroke & cerebrovascular disease', 'Ischemic stroke syndromes by territory, TIA.', 1.2],
          [
            'intracranial-hemorrhage',
            'Intracranial hemorrhage & head trauma',
            'Epidural, subdural, subarachnoid and intraparenchymal hemorrhage; herniation.',
          ],
          [
            'dementia-neurodegeneration',
            'Dementia & neurodegeneration',
            'Alzheimer, frontotemporal, Lewy body and vascular dementia; ALS.',
          ],
          [
            'movement-disorders',
            'Movement disorders',
            'Parkinson disease, Huntington disease, tremors, basal ganglia lesions.',
          ],
          [
            'demyelinating-disorders',
            'Demyelinating disorders',
            'Multiple sclerosis, Guillain-Barré syndrome, PML.',
          ],
          [
            'seizures-headache',
            'Seizures & headache',
            'Seizure classification, status epilepticus, migraine and other headaches.',
          ],
          ['cns-tumors', 'CNS tumors', 'Adult and pediatric brain tumors, neurocutaneous syndromes.'],
          [
            'eye-ear-disorders',
            'Eye & ear disorders',
            'Glaucoma, cataract, retinal disease, hearing loss, vertigo.',
            0.8,
          ],
        ],
      },
      {
        discipline: 'pharmacology',
        topics: [
          [
            'antiepileptics',
            'Antiepileptics',
            'Mechanisms, indications and toxicities of seizure medications.',
          ],
          [
            'parkinson-alzheimer-drugs',
            'Parkinson & Alzheimer drugs',
            'Dopaminergic agents, cholinesterase inhibitors, memantine.',
          ],
          [
            'anesthetics',
            'Anesthetics',
            'Inhaled and IV general anesthetics, local anesthetics, neuromuscular blockers.',
          ],
          ['opioids-analgesics', 'Opioids & analgesics', 'Opioid agonists/antagonists, migraine therapies.'],
        ],
      },
      {
        discipline: 'microbiology',
        topics: [
          [
            'cns-infections',
            'CNS infections',
            'Meningitis and encephalitis by age, CSF findings, prion disease.',
          ],
        ],
      },
    ],
  },
  {
    system: 'derm',
    description: 'Skin structure, dermatologic disease and skin infections.',
    areas: [
      {
        discipline: 'histology-cell-biology',
        topics: [
          [
            'skin-structure',
            'Skin layers & appendages',
            'Epidermal layers, cell junctions, glands and hair follicles.',
          ],
        ],
      },
      {
        discipline: 'pathology',
        topics: [
          [
            'inflammatory-dermatoses',
            'Inflammatory dermatoses',
            'Psoriasis, eczema, lichen planus, erythema multiforme, SJS/TEN.',
          ],
          [
            'blistering-disorders',
            'Blistering disorders',
            'Pemphigus vulgaris, bullous pemphigoid, dermatitis herpetiformis.',
            0.7,
          ],
          [
            'skin-cancers',
            'Skin neoplasms',
            'Basal cell and squamous cell carcinoma, melanoma, benign lesions.',
          ],
          ['pigmentation-disorders', 'Pigmentation disorders', 'Albinism, vitiligo, melasma.', 0.5],
        ],
      },
      {
        discipline: 'microbiology',
        topics: [
          [
            'skin-infections',
            'Skin & soft tissue infections',
            'Impetigo, cellulitis, necrotizing fasciitis, dermatophytes, viral exanthems.',
          ],
        ],
      },
      {
        discipline: 'pharmacology',
        topics: [
          [
            'dermatologic-drugs',
            'Dermatologic drugs',
            'Retinoids, topical steroids, antifungals and agents for psoriasis.',
          ],
        ],
      },
    ],
  },
  {
    system: 'msk',
    description: 'Bones, joints, muscles, limb anatomy and rheumatology.',
    areas: [
      {
        discipline: 'gross-anatomy-embryology',
        topics: [
          [
            'upper-limb',
            'Upper limb anatomy & nerve injuries',
            'Brachial plexus, rotator cuff, upper limb nerve lesions.',
          ],
          [
            'lower-limb',
            'Lower limb anatomy & nerve injuries',
            'Lumbosacral plexus, knee injuries, lower limb nerve lesions.',
          ],
        ],
      },
      {
        discipline: 'physiology',
        topics: [
          [
            'muscle-contraction',
            'Muscle & neuromuscular junction physiology',
            'Excitation-contraction coupling in skeletal, cardiac and smooth muscle.',
          ],
          [
            'bone-remodeling',
            'Bone formation & remodeling',
            'Osteoblasts and osteoclasts, endochondral and membranous ossification.',
            0.7,
          ],
        ],
      },
      {
        discipline: 'pathology',
        topics: [
          [
            'metabolic-bone-disease',
            'Metabolic bone disease',
            'Osteoporosis, osteopetrosis, osteomalacia, Paget disease.',
          ],
          ['bone-tumors', 'Bone tumors', 'Benign and malignant primary bone tumors.', 0.6],
          [
            'arthritis',
            'Osteoarthritis & rheumatoid arthritis',
            'Mechanisms, joint findings and complications.',
          ],
          [
            'crystal-arthropathies',
            'Gout & crystal arthropathies',
            'Gout and pseudogout: crystals, triggers, findings.',
            0.7,
          ],
          [
            'connective-tissue-diseases',
            'Systemic connective tissue diseases',
            'SLE, scleroderma, Sjögren, spondyloarthritides, polymyositis.',
            1.3,
          ],
          [
            'myopathies-nmj',
            'Myopathies & NMJ disorders',
            'Muscular dystrophies, myasthenia gravis, Lambert-Eaton syndrome.',
          ],
        ],
      },
      {
        discipline: 'pharmacology',
        topics: [
          [
            'nsaids-analgesics',
            'NSAIDs & acetaminophen',
            'COX inhibition, toxicities, acetaminophen overdose.',
          ],
          [
            'gout-rheum-drugs',
            'Gout & rheumatology drugs',
            'Allopurinol, colchicine, methotrexate and other DMARDs, bisphosphonates.',
          ],
        ],
      },
      {
        discipline: 'microbiology',
        topics: [
          [
            'bone-joint-infections',
            'Bone & joint infections',
            'Osteomyelitis and septic arthritis by host.',
            0.7,
          ],
        ],
      },
    ],
  },
  {
    system: 'cardio',
    description: 'Heart and vessels: anatomy, physiology, disease and cardiovascular drugs.',
    areas: [
      {
        discipline: 'gross-anatomy-embryology',
        topics: [
          [
            'cardiac-embryology',
            'Cardiac embryology',
            'Heart tube, septation, fetal circulation and derivatives.',
          ],
          [
            'heart-anatomy',
            'Heart anatomy & coronary circulation',
            'Chambers, valves, coronary artery territories and dominance.',
            0.8,
          ],
        ],
      },
      {
        discipline: 'physiology',
        topics: [
          [
            'cardiac-cycle',
            'Cardiac cycle & pressure-volume loops',
            'Wiggers diagram, heart sounds, pressure-volume loops.',
          ],
          [
            'cardiac-output',
            'Cardiac output & hemodynamics',
            'Preload, afterload, contractility, Starling curves, resistance and flow.',
            1.2,
          ],
          [
            'cardiac-electrophysiology',
            'Cardiac electrophysiology & ECG',
            'Myocyte and pacemaker action potentials, conduction, ECG basics.',
          ],
          [
            'blood-pressure-regulation',
            'Blood pressure regulation',
            'Baroreceptors, chemoreceptors, autoregulation, capillary fluid exchange.',
          ],
        ],
      },
      {
        discipline: 'pathology',
        topics: [
          [
            'atherosclerosis',
            'Atherosclerosis & hyperlipidemia',
            'Plaque formation, risk factors, aneurysms and dissection.',
          ],
          [
            'ischemic-heart-disease',
            'Ischemic heart disease',
            'Angina, myocardial infarction, its evolution and complications.',
            1.3,
          ],
          [
            'heart-failure',
            'Heart failure',
            'Systolic vs diastolic, left vs right failure, compensation and findings.',
            1.2,
          ],
          ['arrhythmias', 'Arrhythmias', 'Tachy- and bradyarrhythmias, conduction blocks, long QT, WPW.'],
          [
            'valvular-disease',
            'Valvular heart disease & murmurs',
            'Stenotic and regurgitant lesions, rheumatic heart disease, maneuvers.',
          ],
          [
            'cardiomyopathies',
            'Cardiomyopathies & pericardial disease',
            'Dilated, hypertrophic, restrictive cardiomyopathy; pericarditis, tamponade.',
          ],
          [
            'congenital-heart-disease',
            'Congenital heart disease',
            'Right-to-left and left-to-right shunts, coarctation, associations.',
          ],
          [
            'hypertension',
            'Hypertension',
            'Primary and secondary hypertension, hypertensive emergency, end-organ damage.',
          ],
          ['vasculitis', 'Vasculitides', 'Large, medium and small vessel vasculitis.', 0.8],
        ],
      },
      {
        discipline: 'pharmacology',
        topics: [
          [
            'antihypertensives',
            'Antihypertensives',
            'Diuretics, ACE inhibitors/ARBs, calcium channel blockers, beta blockers, vasodilators.',
          ],
          [
            'heart-failure-drugs',
            'Heart failure drugs',
            'Mortality-reducing therapy, digoxin, inotropes, SGLT2 inhibitors.',
          ],
          ['antiarrhythmics', 'Antiarrhythmics', 'Vaughan Williams classes I-IV, adenosine, toxicities.'],
          [
            'antianginals',
            'Antianginal drugs',
            'Nitrates, beta blockers, calcium channel blockers, ranolazine.',
            0.7,
          ],
          [
            'lipid-lowering',
            'Lipid-lowering drugs',
            'Statins, ezetimibe, PCSK9 inhibitors, fibrates, niacin.',
          ],
        ],
      },
      {
        discipline: 'microbiology',
        topics: [
          [
            'infective-endocarditis',
            'Infective endocarditis',
            'Acute vs subacute endocarditis, organisms, risk factors, findings.',
          ],
        ],
      },
    ],
  },
  {
    system: 'resp',
    description: 'Airways and lungs: mechanics, gas exchange, lung disease and infections.',
    areas: [
      {
        discipline: 'gross-anatomy-embryology',
        topics: [
          [
            'lung-anatomy-embryology',
            'Lung anatomy & embryology',
            'Lung development, surfactant, airway anatomy, aspiration sites.',
          ],
        ],
      },
      {
        discipline: 'physiology',
        topics: [
          [
            'lung-mechanics',
            'Lung volumes & mechanics',
            'Lung volumes, compliance, elastic recoil, airway resistance.',
          ],
          [
            'ventilation-perfusion',
            'Ventilation-perfusion',
            'V/Q mismatch, shunt vs dead space, pulmonary circulation.',
          ],
          [
            'gas-exchange',
            'Gas exchange & oxygen transport',
            'Alveolar gas equation, A-a gradient, hemoglobin-oxygen dissociation curve.',
            1.2,
          ],
          [
            'control-of-breathing',
            'Control of breathing & high altitude',
            'Chemoreceptors, response to exercise and altitude.',
            0.7,
          ],
        ],
      },
      {
        discipline: 'pathology',
        topics: [
          [
            'obstructive-lung-disease',
            'Obstructive lung disease',
            'Asthma, COPD, bronchiectasis; PFT patterns.',
            1.2,
          ],
          [
            'restrictive-lung-disease',
            'Restrictive & interstitial lung disease',
            'Interstitial fibrosis, pneumoconioses, sarcoidosis.',
          ],
          [
            'pulmonary-vascular',
            'Pulmonary embolism & pulmonary hypertension',
            'DVT/PE, pulmonary hypertension, cor pulmonale.',
          ],
          ['lung-cancer', 'Lung cancer', 'Histologic types, locations, paraneoplastic associations.'],
          [
            'ards-pleural',
            'ARDS & pleural disease',
            'Acute respiratory distress syndrome, effusions, pneumothorax.',
          ],
        ],
      },
      {
        discipline: 'pharmacology',
        topics: [
          [
            'respiratory-drugs',
            'Asthma & COPD drugs',
            'Bronchodilators, inhaled corticosteroids, leukotriene modifiers, antihistamines.',
          ],
        ],
      },
      {
        discipline: 'microbiology',
        topics: [
          ['pneumonia', 'Pneumonia', 'Typical and atypical pneumonia organisms by setting.'],
          [
            'tuberculosis',
            'Tuberculosis & mycobacteria',
            'Primary and secondary TB, PPD/IGRA, anti-mycobacterial drugs.',
          ],
          [
            'respiratory-viruses',
            'Respiratory viruses',
            'Influenza, RSV, SARS-CoV-2, parainfluenza and their features.',
            0.8,
          ],
        ],
      },
    ],
  },
  {
    system: 'renal',
    description: 'Kidney and urinary tract: filtration, transport, acid-base and renal disease.',
    areas: [
      {
        discipline: 'gross-anatomy-embryology',
        topics: [
          [
            'renal-anatomy-embryology',
            'Renal anatomy & embryology',
            'Kidney development and anomalies, ureter course, Potter sequence.',
          ],
        ],
      },
      {
        discipline: 'physiology',
        topics: [
          [
            'glomerular-filtration',
            'Glomerular filtration & renal blood flow',
            'GFR, filtration fraction, clearance, Starling forces.',
          ],
          [
            'tubular-transport',
            'Tubular transport',
            'Segment-by-segment reabsorption and secretion, transport defects.',
            1.2,
          ],
          [
            'renal-hormones',
            'Renin-angiotensin-aldosterone & renal hormones',
            'RAAS, ADH, ANP, erythropoietin, vitamin D activation.',
          ],
          [
            'fluid-electrolytes',
            'Fluid, sodium & potassium balance',
            'Body fluid compartments, hyponatremia, potassium shifts.',
          ],
          [
            'acid-base',
            'Acid-base physiology',
            'Buffering, anion gap, metabolic and respiratory disorders and compensation.',
            1.2,
          ],
        ],
      },
      {
        discipline: 'pathology',
        topics: [
          ['nephritic-syndrome', 'Nephritic syndromes', 'Post-streptococcal, IgA nephropathy, RPGN, Alport.'],
          [
            'nephrotic-syndrome',
            'Nephrotic syndromes',
            'Minimal change, FSGS, membranous, diabetic nephropathy, amyloid.',
          ],
          [
            'acute-kidney-injury',
            'Acute kidney injury',
            'Prerenal, intrinsic, postrenal AKI; acute tubular necrosis.',
          ],
          [
            'chronic-kidney-disease',
            'Chronic kidney disease',
            'Consequences of renal failure, renal osteodystrophy, dialysis.',
            0.8,
          ],
          [
            'renal-tubular-acidosis',
            'Renal tubular acidosis',
            'Types 1, 2 and 4 RTA: defects, urine pH, potassium.',
            0.6,
          ],
          ['kidney-stones', 'Kidney stones', 'Calcium, struvite, uric acid and cystine stones.', 0.7],
          [
            'urinary-tumors-cysts',
            'Renal & urinary tumors, cystic disease',
            'Renal cell carcinoma, Wilms tumor, urothelial carcinoma, polycystic kidney disease.',
          ],
        ],
      },
      {
        discipline: 'pharmacology',
        topics: [['diuretics', 'Diuretics', 'Site of action, uses and toxicities of diuretic classes.']],
      },
      {
        discipline: 'microbiology',
        topics: [
          [
            'urinary-tract-infections',
            'Urinary tract infections',
            'Cystitis and pyelonephritis organisms and findings.',
            0.8,
          ],
        ],
      },
    ],
  },
  {
    system: 'gi',
    description: 'Digestive tract, liver, biliary system and pancreas.',
    areas: [
      {
        discipline: 'gross-anatomy-embryology',
        topics: [
          [
            'gi-embryology',
            'GI embryology',
            'Gut rotation, malformations, pyloric stenosis, Meckel diverticulum.',
          ],
          [
            'abdominal-anatomy',
            'Abdominal anatomy & blood supply',
            'Peritoneum, celiac/SMA/IMA territories, portosystemic anastomoses, hernias.',
          ],
        ],
      },
      {
        discipline: 'physiology',
        topics: [
          [
            'gi-secretion-motility',
            'GI hormones, secretion & motility',
            'Gastrin, CCK, secretin; gastric acid and pancreatic secretion.',
          ],
          [
            'digestion-absorption',
            'Digestion & absorption',
            'Carbohydrate, protein, fat, iron, B12 and bile acid absorption.',
          ],
          [
            'bilirubin-metabolism',
            'Bilirubin metabolism & jaundice',
            'Conjugated vs unconjugated hyperbilirubinemia, hereditary hyperbilirubinemias.',
            0.8,
          ],
        ],
      },
      {
        discipline: 'pathology',
        topics: [
          [
            'esophageal-gastric',
            'Esophageal & gastric disorders',
            'Achalasia, GERD, Barrett esophagus, gastritis, peptic ulcer disease.',
            1.2,
          ],
          [
            'malabsorption',
            'Malabsorption syndromes',
            'Celiac disease, lactose intolerance, Whipple disease.',
            0.7,
          ],
          [
            'inflammatory-bowel-disease',
            'Inflammatory bowel disease',
            'Crohn disease vs ulcerative colitis.',
          ],
          [
            'colorectal-neoplasia',
            'Colorectal polyps & cancer',
            'Polyp types, polyposis syndromes, colorectal carcinogenesis.',
          ],
          [
            'liver-disease',
            'Hepatitis, cirrhosis & liver tumors',
            'Alcoholic and fatty liver disease, cirrhosis, hemochromatosis, Wilson disease, HCC.',
            1.3,
          ],
          ['biliary-disease', 'Biliary disease', 'Gallstones, cholecystitis, cholangitis, PBC, PSC.'],
          [
            'pancreatic-disease',
            'Pancreatitis & pancreatic cancer',
            'Acute and chronic pancreatitis, pancreatic adenocarcinoma.',
          ],
        ],
      },
      {
        discipline: 'pharmacology',
        topics: [
          [
            'acid-suppression',
            'Acid suppression drugs',
            'PPIs, H2 blockers, antacids, misoprostol, bismuth.',
          ],
          [
            'gi-motility-drugs',
            'Antiemetics, laxatives & motility drugs',
            'Ondansetron, metoclopramide, laxatives, antidiarrheals.',
          ],
        ],
      },
      {
        discipline: 'microbiology',
        topics: [
          [
            'gi-infections',
            'Infectious diarrhea & H. pylori',
            'Bacterial, viral and protozoal diarrhea; H. pylori.',
          ],
          ['viral-hepatitis', 'Viral hepatitis', 'Hepatitis A-E: transmission, serology, outcomes.'],
        ],
      },
    ],
  },
  {
    system: 'repro',
    description: 'Male and female reproduction, pregnancy, breast and sexually transmitted infections.',
    areas: [
      {
        discipline: 'gross-anatomy-embryology',
        topics: [
          [
            'repro-embryology',
            'Reproductive embryology',
            'Sexual differentiation, genital homologues, Müllerian anomalies.',
          ],
          ['pelvic-anatomy', 'Pelvic anatomy', 'Pelvic ligaments, lymphatic drainage, pelvic floor.', 0.7],
        ],
      },
      {
        discipline: 'physiology',
        topics: [
          [
            'menstrual-cycle',
            'Menstrual cycle & female hormones',
            'HPO axis, estrogen and progesterone, menopause.',
          ],
          [
            'pregnancy-physiology',
            'Pregnancy & lactation physiology',
            'hCG, placental hormones, maternal adaptation, lactation.',
          ],
          [
            'male-reproductive-physiology',
            'Male reproductive physiology',
            'Spermatogenesis, androgens, erection and ejaculation.',
            0.7,
          ],
        ],
      },
      {
        discipline: 'pathology',
        topics: [
          [
            'pregnancy-complications',
            'Pregnancy complications',
            'Ectopic pregnancy, preeclampsia, gestational trophoblastic disease, placental disorders.',
          ],
          [
            'gynecologic-neoplasms',
            'Ovarian, uterine & cervical pathology',
            'Ovarian tumors, endometrial disorders, cervical dysplasia and cancer.',
            1.3,
          ],
          ['breast-pathology', 'Breast pathology', 'Benign breast disease and breast cancer.'],
          [
            'male-genitourinary-pathology',
            'Prostate & testicular disorders',
            'BPH, prostate cancer, testicular tumors, torsion, varicocele.',
          ],
          [
            'infertility-pcos',
            'Infertility & polycystic ovary syndrome',
            'PCOS, amenorrhea, causes of infertility.',
            0.7,
          ],
        ],
      },
      {
        discipline: 'pharmacology',
        topics: [
          [
            'reproductive-hormone-drugs',
            'Reproductive hormone drugs',
            'Contraceptives, SERMs, aromatase inhibitors, androgens and antiandrogens, PDE5 inhibitors.',
          ],
        ],
      },
      {
        discipline: 'microbiology',
        topics: [
          [
            'sexually-transmitted-infections',
            'Sexually transmitted infections',
            'Syphilis, gonorrhea, chlamydia, HSV, HPV, trichomonas.',
          ],
        ],
      },
      {
        discipline: 'genetics',
        topics: [
          [
            'sex-chromosome-disorders',
            'Sex chromosome & DSD disorders',
            'Klinefelter, Turner, androgen insensitivity, 5α-reductase deficiency.',
          ],
        ],
      },
    ],
  },
  {
    system: 'endo',
    description: 'Hormonal axes, endocrine disease and endocrine pharmacology.',
    areas: [
      {
        discipline: 'gross-anatomy-embryology',
        topics: [
          [
            'endocrine-embryology',
            'Endocrine embryology & anatomy',
            'Thyroid descent, pituitary and adrenal development.',
          ],
        ],
      },
      {
        discipline: 'physiology',
        topics: [
          [
            'hypothalamic-pituitary',
            'Hypothalamic-pituitary axis',
            'Hypothalamic releasing hormones, anterior and posterior pituitary, feedback.',
          ],
          [
            'thyroid-physiology',
            'Thyroid hormone physiology',
            'Synthesis, regulation and actions of thyroid hormone.',
          ],
          [
            'adrenal-physiology',
            'Adrenal physiology',
            'Steroidogenesis, cortisol and aldosterone actions, catecholamines.',
          ],
          ['calcium-regulation', 'Calcium & phosphate regulation', 'PTH, vitamin D and calcitonin.'],
          ['insulin-glucagon', 'Insulin & glucagon', 'Pancreatic islet hormones and glucose homeostasis.'],
        ],
      },
      {
        discipline: 'pathology',
        topics: [
          [
            'diabetes-mellitus',
            'Diabetes mellitus',
            'Type 1 vs type 2, DKA, HHS, chronic complications.',
            1.4,
          ],
          [
            'thyroid-disorders',
            'Thyroid disorders',
            'Hypo- and hyperthyroidism, thyroiditis, thyroid cancer.',
            1.2,
          ],
          [
            'adrenal-disorders',
            'Adrenal disorders',
            'Cushing syndrome, adrenal insufficiency, hyperaldosteronism, CAH, pheochromocytoma.',
            1.2,
          ],
          [
            'pituitary-disorders',
            'Pituitary disorders',
            'Pituitary adenomas, acromegaly, diabetes insipidus, SIADH.',
          ],
          [
            'parathyroid-disorders',
            'Parathyroid & calcium disorders',
            'Hyper- and hypoparathyroidism, hypercalcemia of malignancy.',
            0.8,
          ],
          [
            'neuroendocrine-men',
            'MEN syndromes & neuroendocrine tumors',
            'MEN 1/2A/2B, carcinoid syndrome, gastrinoma, insulinoma.',
            0.6,
          ],
        ],
      },
      {
        discipline: 'pharmacology',
        topics: [
          [
            'diabetes-drugs',
            'Diabetes drugs',
            'Insulins, metformin, sulfonylureas, GLP-1 agonists, SGLT2 and DPP-4 inhibitors.',
          ],
          [
            'thyroid-adrenal-drugs',
            'Thyroid & adrenal drugs',
            'Levothyroxine, thionamides, glucocorticoids and their adverse effects.',
          ],
        ],
      },
    ],
  },
  {
    system: 'multi',
    description:
      'Processes spanning organ systems: shock, infection, nutrition, toxicology, environmental injury.',
    areas: [
      {
        discipline: 'pathology',
        topics: [
          [
            'sepsis-shock',
            'Sepsis & shock',
            'Hypovolemic, cardiogenic, distributive and obstructive shock; SIRS and sepsis.',
          ],
          [
            'paraneoplastic-syndromes',
            'Paraneoplastic syndromes',
            'Hormonal, hematologic and neurologic paraneoplastic syndromes.',
            0.7,
          ],
          [
            'environmental-injury',
            'Environmental & physical injury',
            'Burns, hypo- and hyperthermia, radiation injury, drowning.',
            0.7,
          ],
        ],
      },
      {
        discipline: 'pharmacology',
        topics: [
          ['toxicology', 'Toxicology & antidotes', 'Common poisonings, toxidromes and specific antidotes.'],
          [
            'adverse-drug-reactions',
            'Multisystem adverse drug reactions',
            'Drug-induced hepatotoxicity, cytopenias, QT prolongation, hypersensitivity.',
          ],
        ],
      },
      {
        discipline: 'microbiology',
        topics: [
          [
            'hiv-aids',
            'HIV & opportunistic infections',
            'HIV biology, diagnosis, antiretrovirals, opportunistic infections by CD4 count.',
            1.2,
          ],
          [
            'zoonoses-vector-borne',
            'Zoonotic & vector-borne infections',
            'Lyme disease, rickettsiae, zoonotic bacteria, systemic parasites.',
          ],
          [
            'systemic-fungal',
            'Systemic mycoses',
            'Histoplasmosis, blastomycosis, coccidioidomycosis, candida, aspergillus.',
            0.8,
          ],
        ],
      },
      {
        discipline: 'biochemistry-nutrition',
        topics: [
          [
            'obesity-metabolic-syndrome',
            'Obesity & metabolic syndrome',
            'Energy balance, leptin, metabolic syndrome and its consequences.',
          ],
        ],
      },
      {
        discipline: 'genetics',
        topics: [
          [
            'multisystem-genetic-syndromes',
            'Multisystem genetic syndromes',
            'Marfan, neurofibromatosis, tuberous sclerosis, cystic fibrosis.',
          ],
        ],
      },
    ],
  },
  {
    system: 'biostat',
    description: 'Epidemiology, biostatistics, interpretation of medical literature and population health.',
    areas: [
      {
        discipline: 'behavioral-sciences',
        area: { slug: 'epi', name: 'Epidemiology', weight: 45 },
        description: 'Study design, measures of disease and association, bias.',
        topics: [
          [
            'study-designs',
            'Study designs',
            'Cross-sectional, case-control, cohort, RCTs, meta-analysis; phases of trials.',
          ],
          [
            'disease-frequency',
            'Incidence & prevalence',
            'Measures of disease frequency and their relationship.',
            0.7,
          ],
          [
            'measures-of-association',
            'Measures of association & effect',
            'Relative risk, odds ratio, attributable risk, NNT/NNH.',
            1.2,
          ],
          [
            'bias-confounding',
            'Bias & confounding',
            'Selection, measurement and other biases; confounding and effect modification.',
          ],
        ],
      },
      {
        discipline: 'behavioral-sciences',
        area: { slug: 'stats', name: 'Biostatistics', weight: 40 },
        description: 'Diagnostic test evaluation and statistical inference.',
        topics: [
          [
            'diagnostic-tests',
            'Diagnostic test evaluation',
            'Sensitivity, specificity, predictive values, likelihood ratios, ROC curves.',
            1.3,
          ],
          [
            'hypothesis-testing',
            'Hypothesis testing & confidence intervals',
            'P values, type I/II errors, power, confidence intervals.',
          ],
          [
            'statistical-tests',
            'Choosing statistical tests',
            't-test, ANOVA, chi-square, correlation; distributions.',
            0.8,
          ],
        ],
      },
      {
        discipline: 'behavioral-sciences',
        area: { slug: 'pop', name: 'Population Health', weight: 15 },
        description: 'Prevention and public health practice.',
        topics: [
          [
            'prevention-screening',
            'Prevention & screening programs',
            'Primary, secondary, tertiary prevention; screening recommendations.',
          ],
          [
            'outbreaks-surveillance',
            'Outbreaks & surveillance',
            'Outbreak investigation, herd immunity, reportable diseases.',
            0.7,
          ],
        ],
      },
    ],
  },
  {
    system: 'social',
    description:
      'Communication and interpersonal skills, medical ethics and law, patient safety and health systems.',
    areas: [
      {
        discipline: 'behavioral-sciences',
        area: { slug: 'comm', name: 'Communication & Interpersonal Skills', weight: 35 },
        description: 'Patient-centered communication.',
        topics: [
          [
            'patient-interviewing',
            'Patient-centered interviewing',
            'Open-ended questions, empathy, motivational interviewing.',
          ],
          [
            'difficult-conversations',
            'Delivering bad news & difficult conversations',
            'SPIKES, angry or nonadherent patients, conflict.',
          ],
          [
            'cultural-humility',
            'Cultural humility & interpreters',
            'Health literacy, use of interpreters, cultural and spiritual beliefs.',
            0.7,
          ],
        ],
      },
      {
        discipline: 'behavioral-sciences',
        area: { slug: 'ethics', name: 'Medical Ethics & Jurisprudence', weight: 45 },
        description: 'Ethical principles and legal obligations in clinical practice.',
        topics: [
          [
            'informed-consent',
            'Informed consent & capacity',
            'Elements of consent, decision-making capacity, exceptions.',
            1.2,
          ],
          [
            'confidentiality',
            'Confidentiality & reporting duties',
            'HIPAA, duty to warn, mandatory reporting.',
          ],
          [
            'minors-surrogates',
            'Minors & surrogate decision-making',
            'Parental consent and its exceptions, emancipation, surrogates.',
          ],
          [
            'end-of-life',
            'End-of-life care',
            'Advance directives, withdrawal of care, palliative care, physician-assisted death.',
          ],
          [
            'professionalism',
            'Professionalism & conflicts of interest',
            'Gifts, relationships with patients, impaired colleagues.',
            0.7,
          ],
        ],
      },
      {
        discipline: 'behavioral-sciences',
        area: { slug: 'safety', name: 'Patient Safety & Health Systems', weight: 20 },
        description: 'Error prevention and health care delivery.',
        topics: [
          [
            'patient-safety',
            'Patient safety & quality improvement',
            'Error types, disclosure, root cause analysis, PDSA cycles.',
          ],
          [
            'health-systems',
            'Health care delivery & financing',
            'Insurance, payment models, health disparities.',
            0.7,
          ],
        ],
      },
    ],
  },
];

// ---------------------------------------------------------------------------------------------------------
// Weights

const midpoint = (range: readonly [number, number]): number => (range[0] + range[1]) / 2;

/** Normalised system weights (sum to 1): midpoint × share, divided by the total. */
export const SYSTEM_WEIGHTS: Readonly<Record<SystemId, number>> = (() => {
  const raw = SYSTEM_WEIGHT_TABLE.map((row) => [row.system, midpoint(row.range) * row.share] as const);
  const total = raw.reduce((sum, [, w]) => sum + w, 0);
  return Object.fromEntries(raw.map(([system, w]) => [system, w / total])) as Record<SystemId, number>;
})();

/** Topic-units (sum of relative topic weights) at which a discipline area gets its discipline's full share. */
export const FULL_AREA_COVERAGE = 3;

/** Relative weight of a discipline area within its system: discipline midpoint × coverage factor. */
function disciplineAreaWeight(area: AreaSpec): number {
  const units = area.topics.reduce((sum, t) => sum + (t[3] ?? 1), 0);
  return midpoint(DISCIPLINES[area.discipline].range) * Math.min(1, units / FULL_AREA_COVERAGE);
}

/** Splits `total` across items in proportion to `weights`. */
function split(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => (total * w) / sum);
}

// ---------------------------------------------------------------------------------------------------------
// Topics

function buildTopics(): Topic[] {
  const topics: Topic[] = [];
  const rows = new Map(SYSTEM_WEIGHT_TABLE.map((row) => [row.system, row]));
  for (const spec of SPEC) {
    const row = rows.get(spec.system);
    if (!row) throw new Error(`taxonomy: no weight row for system ${spec.system}`);
    const systemWeight = SYSTEM_WEIGHTS[spec.system];
    topics.push({
      id: spec.system,
      name: row.name,
      parentId: null,
      level: 0,
      system: spec.system,
      discipline: null,
      boardWeight: systemWeight,
      description: spec.description,
    });
    const areaWeights = split(
      systemWeight,
      spec.areas.map((a) => a.area?.weight ?? disciplineAreaWeight(a)),
    );
    spec.areas.forEach((area, i) => {
      const d = DISCIPLINES[area.discipline];
      const areaId = `${spec.system}.${area.area?.slug ?? d.slug}`;
      const areaName = area.area?.name ?? d.name;
      topics.push({
        id: areaId,
        name: `${row.name} — ${areaName}`,
        parentId: spec.system,
        level: 1,
        system: spec.system,
        discipline: area.discipline,
        boardWeight: areaWeights[i]!,
        description: area.description ?? `${d.name} of the ${row.name.toLowerCase()}.`,
      });
      const topicWeights = split(
        areaWeights[i]!,
        area.topics.map((t) => t[3] ?? 1),
      );
      area.topics.forEach(([slug, name, description], j) => {
        topics.push({
          id: `${areaId}.${slug}`,
          name,
          parentId: areaId,
          level: 2,
          system: spec.system,
          discipline: area.discipline,
          boardWeight: topicWeights[j]!,
          description,
        });
      });
    });
  }
  return topics;
}

/** All topics, parents before children (systems, then each system's areas and their topics). */
export const TOPICS: readonly Topic[] = buildTopics();

// ---------------------------------------------------------------------------------------------------------
// Relationships: [from, to, kind ('p' prerequisite: from before to; 'r' related), strength]

type EdgeSpec = readonly [from: string, to: string, kind: 'p' | 'r', strength: number];

const EDGES: readonly EdgeSpec[] = [
  // General principles -> organ systems
  ['gen.biochem.carbohydrate-metabolism', 'gen.biochem.glycogen-storage', 'p', 0.8],
  ['gen.biochem.carbohydrate-metabolism', 'gen.biochem.mitochondrial-metabolism', 'p', 0.8],
  ['gen.biochem.mitochondrial-metabolism', 'gen.biochem.fed-fasting-states', 'p', 0.6],
  ['gen.biochem.lipid-metabolism', 'gen.biochem.fed-fasting-states', 'p', 0.6],
  ['gen.biochem.lipid-metabolism', 'cardio.path.atherosclerosis', 'p', 0.6],
  ['gen.biochem.lipid-metabolism', 'cardio.pharm.lipid-lowering', 'p', 0.8],
  ['gen.biochem.enzyme-kinetics', 'gen.pharm.pharmacodynamics', 'p', 0.6],
  ['gen.biochem.dna-replication-repair', 'gen.biochem.gene-expression', 'p', 0.6],
  ['gen.biochem.dna-replication-repair', 'gen.path.neoplasia', 'p', 0.5],
  ['gen.biochem.nucleotide-metabolism', 'heme.pharm.antineoplastics', 'p', 0.6],
  ['gen.biochem.nucleotide-metabolism', 'msk.path.crystal-arthropathies', 'p', 0.5],
  ['gen.biochem.nucleotide-metabolism', 'immune.path.immunodeficiency', 'r', 0.4],
  ['gen.biochem.amino-acid-metabolism', 'neuro.phys.neurophysiology', 'p', 0.4],
  ['gen.biochem.vitamins-minerals', 'heme.path.macrocytic-anemias', 'p', 0.7],
  ['gen.biochem.vitamins-minerals', 'gi.phys.digestion-absorption', 'r', 0.5],
  ['gen.biochem.lysosomal-storage', 'gen.histo.cell-organelles-cytoskeleton', 'r', 0.5],
  ['gen.biochem.fed-fasting-states', 'endo.phys.insulin-glucagon', 'p', 0.6],
  ['gen.biochem.fed-fasting-states', 'multi.biochem.obesity-metabolic-syndrome', 'p', 0.5],
  ['gen.genetics.inheritance-patterns', 'gen.genetics.hardy-weinberg', 'p', 0.7],
  ['gen.genetics.inheritance-patterns', 'gen.genetics.trinucleotide-repeats', 'p', 0.6],
  ['gen.genetics.inheritance-patterns', 'gen.genetics.imprinting-mitochondrial', 'p', 0.6],
  ['gen.genetics.inheritance-patterns', 'multi.genetics.multisystem-genetic-syndromes', 'p', 0.7],
  ['gen.genetics.chromosomal-disorders', 'repro.genetics.sex-chromosome-disorders', 'p', 0.7],
  ['gen.genetics.chromosomal-disorders', 'cardio.path.congenital-heart-disease', 'r', 0.4],
  ['gen.genetics.trinucleotide-repeats', 'neuro.path.movement-disorders', 'r', 0.5],
  ['gen.genetics.genetic-techniques', 'gen.genetics.chromosomal-disorders', 'r', 0.3],
  ['gen.histo.cell-cycle', 'gen.path.neoplasia', 'p', 0.7],
  ['gen.histo.cell-cycle', 'heme.pharm.antineoplastics', 'p', 0.7],
  ['gen.histo.collagen-ecm', 'gen.path.tissue-repair', 'p', 0.5],
  ['gen.histo.collagen-ecm', 'multi.genetics.multisystem-genetic-syndromes', 'p', 0.5],
  ['gen.histo.cell-signaling', 'gen.pharm.pharmacodynamics', 'p', 0.6],
  ['gen.histo.cell-signaling', 'neuro.phys.neurophysiology', 'p', 0.6],
  ['gen.path.cell-injury', 'gen.path.inflammation', 'p', 0.7],
  ['gen.path.inflammation', 'gen.path.tissue-repair', 'p', 0.7],
  ['gen.path.cell-injury', 'cardio.path.ischemic-heart-disease', 'p', 0.6],
  ['gen.path.cell-injury', 'renal.path.acute-kidney-injury', 'p', 0.5],
  ['gen.path.neoplasia', 'heme.path.leukemias', 'p', 0.5],
  ['gen.path.neoplasia', 'resp.path.lung-cancer', 'p', 0.5],
  ['gen.path.neoplasia', 'gi.path.colorectal-neoplasia', 'p', 0.5],
  ['gen.path.neoplasia', 'multi.path.paraneoplastic-syndromes', 'p', 0.6],
  ['gen.path.amyloidosis', 'renal.path.nephrotic-syndrome', 'r', 0.4],
  ['gen.pharm.pharmacokinetics', 'gen.pharm.drug-toxicity-interactions', 'p', 0.7],
  ['gen.pharm.pharmacodynamics', 'gen.pharm.autonomic-drugs', 'p', 0.7],
  ['gen.pharm.drug-toxicity-interactions', 'multi.pharm.adverse-drug-reactions', 'p', 0.7],
  ['gen.pharm.autonomic-drugs', 'cardio.pharm.antihypertensives', 'p', 0.6],
  ['gen.pharm.autonomic-drugs', 'resp.pharm.respiratory-drugs', 'p', 0.6],
  ['gen.pharm.autonomic-drugs', 'multi.pharm.toxicology', 'p', 0.5],
  ['gen.micro.bacterial-structure-genetics', 'gen.micro.antimicrobials', 'p', 0.8],
  ['gen.micro.viral-structure-replication', 'gi.micro.viral-hepatitis', 'p', 0.6],
  ['gen.micro.viral-structure-replication', 'multi.micro.hiv-aids', 'p', 0.7],
  ['gen.micro.viral-structure-replication', 'resp.micro.respiratory-viruses', 'p', 0.6],
  ['gen.micro.antimicrobials', 'resp.micro.pneumonia', 'p', 0.5],
  ['gen.micro.antimicrobials', 'resp.micro.tuberculosis', 'p', 0.5],
  // Immune
  ['immune.immuno.innate-immunity', 'immune.immuno.adaptive-immunity', 'p', 0.7],
  ['immune.immuno.mhc-antigen-presentation', 'immune.immuno.adaptive-immunity', 'p', 0.7],
  ['immune.immuno.adaptive-immunity', 'immune.immuno.vaccines', 'p', 0.7],
  ['immune.immuno.adaptive-immunity', 'immune.path.hypersensitivity', 'p', 0.8],
  ['immune.immuno.adaptive-immunity', 'immune.path.immunodeficiency', 'p', 0.8],
  ['immune.immuno.complement-cytokines', 'immune.path.immunodeficiency', 'p', 0.6],
  ['immune.immuno.mhc-antigen-presentation', 'immune.path.transplant-rejection', 'p', 0.8],
  ['immune.path.transplant-rejection', 'immune.pharm.immunosuppressants', 'p', 0.8],
  ['immune.immuno.complement-cytokines', 'immune.pharm.biologics', 'p', 0.6],
  ['immune.immuno.innate-immunity', 'gen.path.inflammation', 'r', 0.6],
  ['immune.immuno.adaptive-immunity', 'multi.micro.hiv-aids', 'p', 0.7],
  ['immune.path.hypersensitivity', 'msk.path.connective-tissue-diseases', 'p', 0.6],
  ['immune.path.hypersensitivity', 'renal.path.nephritic-syndrome', 'p', 0.6],
  ['immune.immuno.vaccines', 'biostat.pop.outbreaks-surveillance', 'r', 0.4],
  // Blood
  ['heme.phys.hematopoiesis', 'heme.path.microcytic-anemias', 'p', 0.6],
  ['heme.phys.hematopoiesis', 'heme.path.leukemias', 'p', 0.6],
  ['heme.biochem.heme-iron-metabolism', 'heme.path.microcytic-anemias', 'p', 0.8],
  ['heme.phys.hematopoiesis', 'heme.path.hemolytic-anemias', 'p', 0.5],
  ['heme.phys.hemostasis', 'heme.path.bleeding-thrombotic-disorders', 'p', 0.9],
  ['heme.path.bleeding-thrombotic-disorders', 'heme.pharm.anticoagulants', 'p', 0.7],
  ['heme.phys.hemostasis', 'heme.pharm.anticoagulants', 'p', 0.8],
  ['heme.phys.blood-groups-transfusion', 'immune.path.hypersensitivity', 'r', 0.5],
  ['heme.histo.lymphoid-organs', 'heme.path.lymphomas-plasma-cell', 'p', 0.5],
  ['heme.path.leukemias', 'heme.pharm.antineoplastics', 'p', 0.6],
  ['heme.path.lymphomas-plasma-cell', 'heme.pharm.antineoplastics', 'p', 0.5],
  ['heme.path.leukemias', 'heme.path.lymphomas-plasma-cell', 'r', 0.6],
  ['heme.path.bleeding-thrombotic-disorders', 'resp.path.pulmonary-vascular', 'p', 0.5],
  // Behavioral health
  ['neuro.phys.neurophysiology', 'behav.pharm.antidepressants', 'p', 0.6],
  ['neuro.phys.neurophysiology', 'behav.pharm.antipsychotics', 'p', 0.6],
  ['behav.path.mood-disorders', 'behav.pharm.antidepressants', 'p', 0.8],
  ['behav.path.mood-disorders', 'behav.pharm.anxiolytics-mood-stabilizers', 'p', 0.6],
  ['behav.path.psychotic-disorders', 'behav.pharm.antipsychotics', 'p', 0.8],
  ['behav.path.anxiety-disorders', 'behav.pharm.anxiolytics-mood-stabilizers', 'p', 0.7],
  ['behav.path.anxiety-disorders', 'behav.pharm.antidepressants', 'p', 0.5],
  ['behav.path.substance-use', 'multi.pharm.toxicology', 'r', 0.6],
  ['behav.behav.development-milestones', 'behav.path.neurodevelopmental-eating', 'p', 0.5],
  ['behav.behav.defense-mechanisms', 'behav.path.personality-disorders', 'p', 0.5],
  ['behav.path.mood-disorders', 'behav.path.anxiety-disorders', 'r', 0.5],
  ['behav.behav.sleep', 'behav.path.mood-disorders', 'r', 0.3],
  // Nervous system
  ['neuro.anat.neuroembryology', 'neuro.anat.spinal-cord', 'p', 0.5],
  ['neuro.anat.cerebral-vasculature', 'neuro.path.stroke', 'p', 0.9],
  ['neuro.anat.brainstem-cranial-nerves', 'neuro.path.stroke', 'p', 0.7],
  ['neuro.anat.spinal-cord', 'neuro.path.demyelinating-disorders', 'p', 0.5],
  ['neuro.anat.cerebral-vasculature', 'neuro.path.intracranial-hemorrhage', 'p', 0.8],
  ['neuro.phys.csf-bbb', 'neuro.path.intracranial-hemorrhage', 'p', 0.5],
  ['neuro.phys.csf-bbb', 'neuro.micro.cns-infections', 'p', 0.6],
  ['neuro.phys.neurophysiology', 'neuro.path.seizures-headache', 'p', 0.6],
  ['neuro.path.seizures-headache', 'neuro.pharm.antiepileptics', 'p', 0.8],
  ['neuro.phys.neurophysiology', 'neuro.pharm.anesthetics', 'p', 0.6],
  ['neuro.path.movement-disorders', 'neuro.pharm.parkinson-alzheimer-drugs', 'p', 0.8],
  ['neuro.path.dementia-neurodegeneration', 'neuro.pharm.parkinson-alzheimer-drugs', 'p', 0.7],
  ['neuro.phys.special-senses', 'neuro.path.eye-ear-disorders', 'p', 0.7],
  ['neuro.path.stroke', 'neuro.path.dementia-neurodegeneration', 'r', 0.4],
  ['neuro.path.cns-tumors', 'multi.genetics.multisystem-genetic-syndromes', 'r', 0.5],
  ['neuro.phys.neurophysiology', 'neuro.pharm.opioids-analgesics', 'p', 0.5],
  // Skin
  ['derm.histo.skin-structure', 'derm.path.blistering-disorders', 'p', 0.8],
  ['derm.histo.skin-structure', 'derm.path.inflammatory-dermatoses', 'p', 0.6],
  ['derm.histo.skin-structure', 'derm.path.skin-cancers', 'p', 0.5],
  ['derm.path.inflammatory-dermatoses', 'derm.pharm.dermatologic-drugs', 'p', 0.7],
  ['derm.histo.skin-structure', 'derm.micro.skin-infections', 'p', 0.4],
  ['immune.path.hypersensitivity', 'derm.path.blistering-disorders', 'p', 0.6],
  ['derm.path.inflammatory-dermatoses', 'msk.path.connective-tissue-diseases', 'r', 0.4],
  // Musculoskeletal
  ['msk.phys.muscle-contraction', 'msk.path.myopathies-nmj', 'p', 0.8],
  ['msk.phys.muscle-contraction', 'neuro.pharm.anesthetics', 'p', 0.5],
  ['msk.phys.bone-remodeling', 'msk.path.metabolic-bone-disease', 'p', 0.8],
  ['msk.phys.bone-remodeling', 'msk.path.bone-tumors', 'p', 0.4],
  ['msk.path.crystal-arthropathies', 'msk.pharm.gout-rheum-drugs', 'p', 0.8],
  ['msk.path.arthritis', 'msk.pharm.gout-rheum-drugs', 'p', 0.6],
  ['msk.path.arthritis', 'msk.pharm.nsaids-analgesics', 'p', 0.5],
  ['gen.path.inflammation', 'msk.pharm.nsaids-analgesics', 'p', 0.6],
  ['msk.anat.upper-limb', 'msk.anat.lower-limb', 'r', 0.4],
  ['msk.path.arthritis', 'msk.path.connective-tissue-diseases', 'r', 0.6],
  ['msk.micro.bone-joint-infections', 'msk.path.arthritis', 'r', 0.4],
  // Cardiovascular
  ['cardio.anat.cardiac-embryology', 'cardio.path.congenital-heart-disease', 'p', 0.9],
  ['cardio.anat.heart-anatomy', 'cardio.path.ischemic-heart-disease', 'p', 0.7],
  ['cardio.phys.cardiac-cycle', 'cardio.phys.cardiac-output', 'p', 0.7],
  ['cardio.phys.cardiac-cycle', 'cardio.path.valvular-disease', 'p', 0.9],
  ['cardio.phys.cardiac-output', 'cardio.path.heart-failure', 'p', 0.9],
  ['cardio.path.heart-failure', 'cardio.pharm.heart-failure-drugs', 'p', 0.9],
  ['cardio.phys.cardiac-electrophysiology', 'cardio.path.arrhythmias', 'p', 0.9],
  ['cardio.path.arrhythmias', 'cardio.pharm.antiarrhythmics', 'p', 0.9],
  ['cardio.phys.cardiac-electrophysiology', 'cardio.pharm.antiarrhythmics', 'p', 0.8],
  ['cardio.phys.blood-pressure-regulation', 'cardio.path.hypertension', 'p', 0.8],
  ['cardio.path.hypertension', 'cardio.pharm.antihypertensives', 'p', 0.9],
  ['cardio.path.atherosclerosis', 'cardio.path.ischemic-heart-disease', 'p', 0.8],
  ['cardio.path.ischemic-heart-disease', 'cardio.pharm.antianginals', 'p', 0.8],
  ['cardio.path.ischemic-heart-disease', 'cardio.path.heart-failure', 'p', 0.6],
  ['cardio.path.atherosclerosis', 'cardio.pharm.lipid-lowering', 'p', 0.8],
  ['cardio.path.cardiomyopathies', 'cardio.path.heart-failure', 'r', 0.7],
  ['cardio.path.valvular-disease', 'cardio.micro.infective-endocarditis', 'r', 0.7],
  ['cardio.path.vasculitis', 'immune.path.hypersensitivity', 'r', 0.5],
  ['cardio.path.arrhythmias', 'heme.pharm.anticoagulants', 'r', 0.5],
  ['cardio.phys.cardiac-output', 'multi.path.sepsis-shock', 'p', 0.7],
  ['cardio.path.heart-failure', 'resp.path.ards-pleural', 'r', 0.4],
  ['msk.phys.muscle-contraction', 'cardio.phys.cardiac-electrophysiology', 'r', 0.4],
  // Respiratory
  ['resp.anat.lung-anatomy-embryology', 'resp.phys.lung-mechanics', 'p', 0.5],
  ['resp.phys.lung-mechanics', 'resp.path.obstructive-lung-disease', 'p', 0.9],
  ['resp.phys.lung-mechanics', 'resp.path.restrictive-lung-disease', 'p', 0.9],
  ['resp.phys.ventilation-perfusion', 'resp.path.pulmonary-vascular', 'p', 0.8],
  ['resp.phys.gas-exchange', 'resp.phys.ventilation-perfusion', 'r', 0.7],
  ['resp.phys.gas-exchange', 'resp.path.ards-pleural', 'p', 0.7],
  ['resp.phys.gas-exchange', 'resp.phys.control-of-breathing', 'p', 0.5],
  ['resp.path.obstructive-lung-disease', 'resp.pharm.respiratory-drugs', 'p', 0.9],
  ['resp.phys.control-of-breathing', 'renal.phys.acid-base', 'r', 0.6],
  ['resp.path.lung-cancer', 'multi.path.paraneoplastic-syndromes', 'r', 0.7],
  ['resp.micro.pneumonia', 'resp.micro.respiratory-viruses', 'r', 0.6],
  ['resp.micro.tuberculosis', 'multi.micro.hiv-aids', 'r', 0.5],
  ['resp.path.restrictive-lung-disease', 'msk.path.connective-tissue-diseases', 'r', 0.4],
  // Renal
  ['renal.anat.renal-anatomy-embryology', 'renal.path.urinary-tumors-cysts', 'p', 0.4],
  ['renal.phys.glomerular-filtration', 'renal.phys.tubular-transport', 'p', 0.7],
  ['renal.phys.glomerular-filtration', 'renal.path.nephritic-syndrome', 'p', 0.7],
  ['renal.phys.glomerular-filtration', 'renal.path.nephrotic-syndrome', 'p', 0.7],
  ['renal.phys.glomerular-filtration', 'renal.path.acute-kidney-injury', 'p', 0.8],
  ['renal.phys.tubular-transport', 'renal.phys.acid-base', 'p', 0.7],
  ['renal.phys.tubular-transport', 'renal.pharm.diuretics', 'p', 0.9],
  ['renal.phys.tubular-transport', 'renal.phys.fluid-electrolytes', 'p', 0.7],
  ['renal.phys.acid-base', 'renal.path.renal-tubular-acidosis', 'p', 0.9],
  ['renal.phys.renal-hormones', 'cardio.phys.blood-pressure-regulation', 'p', 0.7],
  ['renal.phys.renal-hormones', 'cardio.pharm.antihypertensives', 'p', 0.7],
  ['renal.phys.renal-hormones', 'renal.phys.fluid-electrolytes', 'p', 0.6],
  ['renal.phys.fluid-electrolytes', 'endo.path.pituitary-disorders', 'p', 0.5],
  ['renal.path.acute-kidney-injury', 'renal.path.chronic-kidney-disease', 'p', 0.6],
  ['renal.pharm.diuretics', 'cardio.pharm.antihypertensives', 'p', 0.7],
  ['renal.pharm.diuretics', 'cardio.pharm.heart-failure-drugs', 'p', 0.7],
  ['renal.phys.acid-base', 'multi.pharm.toxicology', 'p', 0.5],
  ['renal.path.chronic-kidney-disease', 'endo.path.parathyroid-disorders', 'r', 0.5],
  ['renal.path.kidney-stones', 'renal.micro.urinary-tract-infections', 'r', 0.4],
  ['renal.path.nephrotic-syndrome', 'endo.path.diabetes-mellitus', 'r', 0.5],
  // Gastrointestinal
  ['gi.anat.gi-embryology', 'gi.anat.abdominal-anatomy', 'p', 0.5],
  ['gi.anat.abdominal-anatomy', 'gi.path.liver-disease', 'p', 0.4],
  ['gi.phys.gi-secretion-motility', 'gi.path.esophageal-gastric', 'p', 0.8],
  ['gi.path.esophageal-gastric', 'gi.pharm.acid-suppression', 'p', 0.8],
  ['gi.phys.gi-secretion-motility', 'gi.pharm.acid-suppression', 'p', 0.7],
  ['gi.phys.gi-secretion-motility', 'gi.pharm.gi-motility-drugs', 'p', 0.6],
  ['gi.phys.digestion-absorption', 'gi.path.malabsorption', 'p', 0.9],
  ['gi.phys.bilirubin-metabolism', 'gi.path.liver-disease', 'p', 0.7],
  ['gi.phys.bilirubin-metabolism', 'gi.path.biliary-disease', 'p', 0.7],
  ['gi.phys.bilirubin-metabolism', 'heme.path.hemolytic-anemias', 'r', 0.5],
  ['gi.micro.viral-hepatitis', 'gi.path.liver-disease', 'p', 0.7],
  ['gi.micro.gi-infections', 'gi.path.esophageal-gastric', 'r', 0.5],
  ['gi.path.inflammatory-bowel-disease', 'gi.path.colorectal-neoplasia', 'r', 0.5],
  ['gi.path.biliary-disease', 'gi.path.pancreatic-disease', 'r', 0.6],
  ['gi.path.malabsorption', 'derm.path.blistering-disorders', 'r', 0.3],
  ['gi.path.inflammatory-bowel-disease', 'immune.pharm.biologics', 'r', 0.5],
  // Reproductive
  ['repro.anat.repro-embryology', 'repro.genetics.sex-chromosome-disorders', 'p', 0.6],
  ['repro.phys.menstrual-cycle', 'repro.phys.pregnancy-physiology', 'p', 0.6],
  ['repro.phys.menstrual-cycle', 'repro.path.infertility-pcos', 'p', 0.8],
  ['repro.phys.menstrual-cycle', 'repro.pharm.reproductive-hormone-drugs', 'p', 0.8],
  ['repro.phys.pregnancy-physiology', 'repro.path.pregnancy-complications', 'p', 0.8],
  ['repro.phys.male-reproductive-physiology', 'repro.path.male-genitourinary-pathology', 'p', 0.6],
  ['repro.anat.pelvic-anatomy', 'repro.path.gynecologic-neoplasms', 'p', 0.4],
  ['repro.micro.sexually-transmitted-infections', 'repro.path.gynecologic-neoplasms', 'p', 0.5],
  ['repro.path.breast-pathology', 'repro.pharm.reproductive-hormone-drugs', 'r', 0.5],
  ['repro.phys.male-reproductive-physiology', 'repro.pharm.reproductive-hormone-drugs', 'p', 0.5],
  ['repro.path.pregnancy-complications', 'cardio.path.hypertension', 'r', 0.4],
  // Endocrine
  ['endo.anat.endocrine-embryology', 'endo.path.thyroid-disorders', 'p', 0.4],
  ['endo.phys.hypothalamic-pituitary', 'endo.phys.thyroid-physiology', 'p', 0.6],
  ['endo.phys.hypothalamic-pituitary', 'endo.phys.adrenal-physiology', 'p', 0.6],
  ['endo.phys.hypothalamic-pituitary', 'endo.path.pituitary-disorders', 'p', 0.9],
  ['endo.phys.hypothalamic-pituitary', 'repro.phys.menstrual-cycle', 'p', 0.6],
  ['endo.phys.thyroid-physiology', 'endo.path.thyroid-disorders', 'p', 0.9],
  ['endo.path.thyroid-disorders', 'endo.pharm.thyroid-adrenal-drugs', 'p', 0.8],
  ['endo.phys.adrenal-physiology', 'endo.path.adrenal-disorders', 'p', 0.9],
  ['endo.path.adrenal-disorders', 'endo.pharm.thyroid-adrenal-drugs', 'p', 0.7],
  ['endo.phys.calcium-regulation', 'endo.path.parathyroid-disorders', 'p', 0.9],
  ['endo.phys.calcium-regulation', 'msk.path.metabolic-bone-disease', 'p', 0.6],
  ['endo.phys.insulin-glucagon', 'endo.path.diabetes-mellitus', 'p', 0.9],
  ['endo.path.diabetes-mellitus', 'endo.pharm.diabetes-drugs', 'p', 0.9],
  ['endo.path.parathyroid-disorders', 'endo.path.neuroendocrine-men', 'r', 0.5],
  ['endo.path.diabetes-mellitus', 'multi.biochem.obesity-metabolic-syndrome', 'r', 0.6],
  ['endo.phys.adrenal-physiology', 'renal.phys.renal-hormones', 'r', 0.6],
  // Multisystem
  ['multi.path.sepsis-shock', 'resp.path.ards-pleural', 'r', 0.5],
  ['multi.micro.hiv-aids', 'multi.micro.systemic-fungal', 'r', 0.6],
  ['multi.micro.zoonoses-vector-borne', 'derm.micro.skin-infections', 'r', 0.4],
  ['multi.pharm.toxicology', 'multi.pharm.adverse-drug-reactions', 'r', 0.5],
  // Biostatistics & epidemiology
  ['biostat.epi.disease-frequency', 'biostat.epi.measures-of-association', 'p', 0.7],
  ['biostat.epi.study-designs', 'biostat.epi.measures-of-association', 'p', 0.8],
  ['biostat.epi.study-designs', 'biostat.epi.bias-confounding', 'p', 0.8],
  ['biostat.epi.disease-frequency', 'biostat.stats.diagnostic-tests', 'p', 0.7],
  ['biostat.stats.hypothesis-testing', 'biostat.stats.statistical-tests', 'p', 0.8],
  ['biostat.stats.diagnostic-tests', 'biostat.pop.prevention-screening', 'p', 0.7],
  ['biostat.epi.disease-frequency', 'biostat.pop.outbreaks-surveillance', 'p', 0.5],
  ['biostat.epi.bias-confounding', 'biostat.stats.hypothesis-testing', 'r', 0.5],
  // Social sciences
  ['social.comm.patient-interviewing', 'social.comm.difficult-conversations', 'p', 0.7],
  ['social.comm.patient-interviewing', 'social.comm.cultural-humility', 'p', 0.5],
  ['social.ethics.informed-consent', 'social.ethics.minors-surrogates', 'p', 0.8],
  ['social.ethics.informed-consent', 'social.ethics.end-of-life', 'p', 0.7],
  ['social.ethics.confidentiality', 'social.ethics.minors-surrogates', 'r', 0.5],
  ['social.safety.patient-safety', 'social.comm.difficult-conversations', 'r', 0.5],
  ['social.ethics.professionalism', 'social.safety.patient-safety', 'r', 0.4],
  ['social.comm.cultural-humility', 'social.ethics.informed-consent', 'r', 0.5],
  ['social.safety.health-systems', 'biostat.pop.prevention-screening', 'r', 0.4],
];

/** All relationships; prerequisite edges form a DAG (checked by the unit tests). */
export const TOPIC_RELATIONSHIPS: readonly TopicRelationship[] = EDGES.map(([from, to, kind, strength]) => ({
  from,
  to,
  kind: kind === 'p' ? 'prerequisite' : 'related',
  strength,
}));

/** Topics by id. */
export const TOPICS_BY_ID: ReadonlyMap<string, Topic> = new Map(TOPICS.map((t) => [t.id, t]));
