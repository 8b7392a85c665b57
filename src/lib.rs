//! rudder: a Kubernetes package manager with helm's habits and tera templates.
//!
//! Layout follows the architecture: [`chart`] loads charts, [`values`] computes the values
//! a chart renders with, [`engine`] renders templates with tera, [`manifest`] parses and
//! orders the rendered objects, [`action`] holds one function per user command, and
//! [`cli`] is a thin clap shim over those actions.

pub mod action;
pub mod chart;
pub mod cli;
pub mod convert;
pub mod diff;
pub mod engine;
pub mod kube;
pub mod manifest;
pub mod output;
pub mod registry;
pub mod repo;
pub mod storage;
pub mod values;
