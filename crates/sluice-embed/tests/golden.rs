//! The real model through ONNX Runtime must reproduce sentence-transformers'
//! published similarities for all-MiniLM-L6-v2 (fp32), and the int8 model
//! must stay close to them. Needs `scripts/setup.sh`.

use sluice_embed::{
    OnnxEmbedder, OnnxEmbedderConfig, Precision, TextEmbedder, cosine, default_model_dir,
};

fn embedder_at(batch_size: usize, precision: Precision) -> OnnxEmbedder {
    let mut cfg = OnnxEmbedderConfig::new(default_model_dir("all-MiniLM-L6-v2"));
    cfg.batch_size = batch_size;
    cfg.threads = Some(1);
    cfg.precision = precision;
    OnnxEmbedder::load(&cfg).unwrap_or_else(|e| panic!("{e}\n(run `bash scripts/setup.sh` first)"))
}

fn embedder(batch_size: usize) -> OnnxEmbedder {
    embedder_at(batch_size, Precision::Fp32)
}

const SENTENCES: [&str; 3] = [
    "The weather is lovely today.",
    "It's so sunny outside!",
    "He drove to the stadium.",
];

#[test]
fn the_int8_model_stays_near_the_published_similarities() {
    let e = embedder_at(32, Precision::Int8);
    assert_eq!(e.dim(), 384);
    assert_eq!(e.space(), "all-MiniLM-L6-v2/int8");
    let v = e.embed(&SENTENCES).unwrap();
    let fp32 = embedder(32).embed(&SENTENCES).unwrap();
    for ((a, b), published) in [((0, 1), 0.6660), ((0, 2), 0.1046), ((1, 2), 0.1411)] {
        let got = cosine(&v[a], &v[b]);
        assert!(
            (got - published).abs() < 0.02,
            "cos({a},{b}) = {got}, published {published}"
        );
    }
    for (q, f) in v.iter().zip(&fp32) {
        assert!(cosine(q, f) > 0.98, "int8 vs fp32: {}", cosine(q, f));
    }
}

/// Dynamic quantisation scales activations per batch, so an int8 vector
/// depends a little on its batch-mates; bounded here (the retrieval cost
/// of it is in tests/quantised_model.rs).
#[test]
fn int8_vectors_move_little_with_their_batch() {
    let texts = [
        "short",
        "a considerably longer sentence that needs padding partners",
        "mid length text here",
    ];
    let batched = embedder_at(8, Precision::Int8).embed(&texts).unwrap();
    let single = embedder_at(1, Precision::Int8).embed(&texts).unwrap();
    for (a, b) in batched.iter().zip(&single) {
        assert!(cosine(a, b) > 0.97, "{}", cosine(a, b));
    }
}

#[test]
fn reproduces_sentence_transformers_similarities() {
    let e = embedder(32);
    assert_eq!(e.dim(), 384);
    assert_eq!(e.space(), "all-MiniLM-L6-v2/fp32");
    let v = e.embed(&SENTENCES).unwrap();
    let sim = |a: usize, b: usize| (cosine(&v[a], &v[b]) * 1e4).round() / 1e4;
    assert_eq!(sim(0, 1), 0.6660);
    assert_eq!(sim(0, 2), 0.1046);
    assert_eq!(sim(1, 2), 0.1411);
    for x in &v {
        let norm: f32 = x.iter().map(|a| a * a).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }
}

#[test]
fn batching_and_padding_do_not_change_vectors() {
    let texts = [
        "short",
        "a considerably longer sentence that needs padding partners",
        "mid length text here",
    ];
    let batched = embedder(8).embed(&texts).unwrap();
    let single = embedder(1).embed(&texts).unwrap();
    for (a, b) in batched.iter().zip(&single) {
        assert!(cosine(a, b) > 0.99999, "{}", cosine(a, b));
    }
}

#[test]
fn long_input_is_truncated_not_rejected() {
    let e = embedder(4);
    let long = "word ".repeat(2000);
    assert!(e.count_tokens(&long) >= 2000);
    let v = e.embed(&[long.as_str(), ""]).unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].len(), 384);
}

#[test]
fn missing_model_dir_is_a_clear_error() {
    let err = OnnxEmbedder::load(&OnnxEmbedderConfig::new("/nonexistent/model"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("model-int8.onnx is missing") && err.contains("scripts/setup.sh"),
        "{err}"
    );
}

/// Single texts run on the query sessions, concurrently; they must give
/// what one batch gives (fp32: the same up to float order).
#[test]
fn concurrent_single_queries_match_the_batch() {
    let e = std::sync::Arc::new(embedder(32));
    let texts = [
        "kafka consumer lag",
        "refund retries with backoff",
        "vacation policy",
        "laptop setup for new hires",
    ];
    let batch = e.embed(&texts).unwrap();
    let handles: Vec<_> = (0..texts.len())
        .map(|i| {
            let e = e.clone();
            std::thread::spawn(move || {
                (0..5)
                    .map(|_| e.embed(&[texts[i]]).unwrap().remove(0))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        for v in h.join().unwrap() {
            assert!(
                cosine(&v, &batch[i]) > 0.99999,
                "{i}: {}",
                cosine(&v, &batch[i])
            );
        }
    }
}
