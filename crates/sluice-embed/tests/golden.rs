//! The real model through ONNX Runtime must reproduce sentence-transformers'
//! published similarities for all-MiniLM-L6-v2. Needs `scripts/setup.sh`.

use sluice_embed::{OnnxEmbedder, OnnxEmbedderConfig, TextEmbedder, cosine, default_model_dir};

fn embedder(batch_size: usize) -> OnnxEmbedder {
    let mut cfg = OnnxEmbedderConfig::new(default_model_dir("all-MiniLM-L6-v2"));
    cfg.batch_size = batch_size;
    cfg.threads = Some(1);
    OnnxEmbedder::load(&cfg).unwrap_or_else(|e| panic!("{e}\n(run `bash scripts/setup.sh` first)"))
}

#[test]
fn reproduces_sentence_transformers_similarities() {
    let e = embedder(32);
    assert_eq!(e.dim(), 384);
    let v = e.embed(&["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]).unwrap();
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
    let texts = ["short", "a considerably longer sentence that needs padding partners", "mid length text here"];
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
    let err = OnnxEmbedder::load(&OnnxEmbedderConfig::new("/nonexistent/model")).err().unwrap().to_string();
    assert!(err.contains("model.onnx is missing") && err.contains("scripts/setup.sh"), "{err}");
}
